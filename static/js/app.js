// Support Center page helpers, hand-written.

// Copy buttons: <button data-copy="#selector"> copies that element's text.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent;
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text.trim()).then(done);
  } else {
    const area = document.createElement("textarea");
    area.value = text.trim();
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }
});

// Destructive buttons: <form data-confirm="Revoke this token?"> asks first.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Filters that apply on change: <select data-autosubmit> submits its form (no inline
// handler: the content security policy refuses them).
document.addEventListener("change", (event) => {
  const field = event.target.closest && event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});

// Radio groups of buttons (<div role="radiogroup"><button role="radio" aria-checked>): one tab
// stop, the arrow keys move and choose (as a native radio group), Home/End the ends.
function radioTabStops(group) {
  const radios = [...group.querySelectorAll('[role="radio"]')];
  const checked = radios.find((radio) => radio.getAttribute("aria-checked") === "true") || radios[0];
  radios.forEach((radio) => { radio.tabIndex = radio === checked ? 0 : -1; });
}
document.addEventListener("keydown", (event) => {
  const radio = event.target.closest && event.target.closest('[role="radio"]');
  const group = radio && radio.closest('[role="radiogroup"]');
  if (!group) return;
  const radios = [...group.querySelectorAll('[role="radio"]')].filter((r) => !r.disabled);
  const at = radios.indexOf(radio);
  const moves = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: radios.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = radios[(moves[event.key] + radios.length) % radios.length];
  next.focus();
  next.click();
});
new MutationObserver((changes) => {
  changes.forEach((change) => { const group = change.target.closest('[role="radiogroup"]'); if (group) radioTabStops(group); });
}).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["aria-checked"] });
document.querySelectorAll('[role="radiogroup"]').forEach(radioTabStops);

// --- Requests from pages (SPEC R13): a time-out on every one, and a session that ended ---
// SC.request(url, options) → {status, ok, payload}; a network failure or time-out gives
// status 0. A 401 (the session ended: signed out in another tab, or expired) shows the
// "Signed out" notice once, stops nothing by itself (callers stop their timers on
// SC.isSignedOut()), and watches for a new sign-in to come back to this page.
window.SC = (() => {
  const TIMEOUT_MS = 10_000;
  const RECHECK_MS = 5_000;
  let signedOut = false;
  let recheckTimer = null;

  function csrf() { // the page's form token, else the cookie
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function request(url, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs || TIMEOUT_MS);
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.method && options.method !== "GET") headers["X-CSRFToken"] = csrf();
    try {
      const response = await fetch(url, {
        method: options.method || "GET", body: options.body, headers,
        credentials: "same-origin", redirect: "manual", signal: controller.signal,
      });
      const payload = await response.json().catch(() => ({}));
      if (response.status === 401) showSignedOut(url);
      return { status: response.status, ok: response.ok, payload };
    } catch (error) {
      return { status: 0, ok: false, payload: { description: "No answer from the server; trying again." } };
    } finally {
      clearTimeout(timer);
    }
  }

  function showSignedOut(probeUrl) {
    if (signedOut) return;
    signedOut = true;
    const notice = document.createElement("div");
    notice.className = "signed-out-notice";
    notice.setAttribute("role", "alert");
    const next = encodeURIComponent(location.pathname + location.search);
    notice.innerHTML = 'Signed out — <a href="/login/?next=' + next + '">sign in again</a>. ' +
      "This page comes back by itself once you are signed in.";
    document.body.prepend(notice);
    document.title = "Signed out · " + document.title;
    // Signed in again (here or in another tab): reload once, when the probe answers 200.
    recheckTimer = setInterval(async () => {
      try {
        const response = await fetch(probeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) { clearInterval(recheckTimer); location.reload(); }
      } catch (error) { /* still offline: try again later */ }
    }, RECHECK_MS);
  }

  return { request, csrf, isSignedOut: () => signedOut };
})();

// The Talk status switch in every page's header: the same API as the console's buttons;
// the console hears "sc:status" and reloads, and keeps this switch in step with its own.
(() => {
  const select = document.getElementById("header-status");
  if (!select) return;
  let current = select.value;
  select.addEventListener("change", async () => {
    const wanted = select.value;
    select.disabled = true;
    const answer = await SC.request(select.dataset.url, {
      method: "PUT", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ availability: { agent_state: wanted } }),
    });
    select.disabled = false;
    if (answer.ok) {
      current = answer.payload.availability.agent_state;
      select.value = current;
      select.title = "";
      document.dispatchEvent(new CustomEvent("sc:status", { detail: answer.payload.availability }));
    } else {
      select.value = current;
      select.title = (answer.payload && (answer.payload.description || answer.payload.error)) || "Not changed; try again.";
    }
  });
  document.addEventListener("sc:status-shown", (event) => { current = event.detail; select.value = current; });
})();

// A new line's form: only the chosen kind's fields (a phone number, or a SIP address and
// its outbound number); a digital line has neither.
(() => {
  const kinds = document.querySelectorAll('input[name="kind"]');
  const blocks = document.querySelectorAll("[data-for-kind]");
  if (!kinds.length || !blocks.length) return;
  const show = () => {
    const chosen = [...kinds].find((radio) => radio.checked);
    blocks.forEach((block) => { block.hidden = Boolean(chosen) && block.dataset.forKind !== chosen.value; });
  };
  kinds.forEach((radio) => radio.addEventListener("change", show));
  show();
})();
