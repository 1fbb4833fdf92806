// The call simulator page: dial, show what the caller hears, send keys. Hand-written.
(() => {
  const script = document.currentScript;
  const stateUrl = (id) => script.dataset.stateUrl.replace("/0.json", `/${id}.json`);
  const actUrl = (id) => script.dataset.actUrl.replace("/0/act/", `/${id}/act/`);
  const panel = document.getElementById("sim-call");
  const transcript = document.getElementById("sim-transcript");
  const statusLabel = document.getElementById("sim-status-label");
  const errorBox = document.getElementById("sim-error");
  let current = null;
  let timer = null;

  const LABELS = {
    say: "You hear", play: "Audio", pause: "Pause", gather: "Listening", keys: "You pressed", enqueue: "In queue", dequeue: "Left queue",
    hold: "Hold music", ended: "Call ended", "caller-hangup": "You hung up", timeout: "Silence", dial: "Dialling",
    "ignored-key": "Key ignored", "end-of-document": "The line hung up", hangup: "The line hung up", "dial-out": "Connecting",
    beep: "Beep", record: "You speak (recorded)",
  };

  function render(call) {
    current = call;
    panel.hidden = false;
    statusLabel.textContent = call.busy ? "working…" : (call.in_queue ? "in queue" : call.status);
    transcript.replaceChildren(...call.transcript.map((entry) => {
      const item = document.createElement("li");
      item.className = `t-${entry.kind}`;
      const label = document.createElement("span");
      label.className = "t-label";
      label.textContent = LABELS[entry.kind] || entry.kind;
      item.append(label, " ", entry.text || "");
      return item;
    }));
    transcript.scrollTop = transcript.scrollHeight;
    errorBox.hidden = !call.error;
    errorBox.textContent = call.error || "";
    const live = call.status === "in-progress" && !call.busy;
    panel.querySelectorAll("button, input").forEach((el) => { el.disabled = !live; });
    clearTimeout(timer);
    // While busy, until the action is done; while live, every two seconds: the carrier may move
    // the call without this page (an agent took it: the caller left the queue for them).
    if (call.busy) timer = setTimeout(() => load(call.id), 400);
    else if (call.status === "in-progress") timer = setTimeout(() => load(call.id), 2000);
  }

  async function load(id) {
    const answer = await SC.request(stateUrl(id));
    if (answer.ok) render(answer.payload);
  }

  async function post(url, data) {
    const answer = await SC.request(url, { method: "POST", body: new URLSearchParams(data) });
    if (answer.ok) return answer;
    const error = answer.status === 401 ? "Signed out: sign in again."
      : (answer.payload.error || answer.payload.description || "Unexpected answer from the server.");
    return { ok: false, payload: { error } };
  }

  async function act(action, keys = "") {
    if (!current) return;
    const { ok, payload } = await post(actUrl(current.id), { action, keys });
    if (!ok) { errorBox.hidden = false; errorBox.textContent = payload.error; return; }
    render(payload);
  }

  document.getElementById("sim-dial").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("sim-dial-error");
    const form = event.target;
    const { ok, payload } = await post(form.action, new FormData(form));
    box.hidden = ok;
    box.textContent = ok ? "" : payload.error;
    if (ok) render(payload);
  });
  panel.addEventListener("click", (event) => {
    const key = event.target.closest("button[data-key]");
    if (key) act("press", key.dataset.key);
  });
  document.getElementById("sim-type").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("sim-keys");
    if (input.value && input.checkValidity()) { act("press", input.value); input.value = ""; }
  });
  document.getElementById("sim-silence").addEventListener("click", () => act("silence"));
  document.getElementById("sim-hangup").addEventListener("click", () => act("hangup"));
  document.querySelectorAll("[data-open-call]").forEach((button) => {
    button.addEventListener("click", () => load(button.dataset.openCall));
  });
})();
