// The supervisors' live queue (SPEC S1, R13). Hand-written.
//
// The socket only hints that the queue moved ("queue.changed", "agent.status"); the table
// always comes from GET /talk/queue/rows.json (rendered and escaped by the server), on every
// hint, on (re)connect, every 15 s while the socket is up (waits grow, offers count down; a
// hint may be lost) and every 5 s while it is down. The push's payload is never read.
// While a supervisor has a row's actions open, or is typing in one, or listens to a caller's
// recorded name (SPEC C14), the table is not replaced under them: the reload waits until they
// close it, or the recording stops.
(() => {
  const section = document.getElementById("queue-table");
  if (!section) return;
  const url = section.dataset.url;
  const live = document.getElementById("queue-live");
  const paused = document.getElementById("queue-paused");
  const summary = document.getElementById("queue-summary");
  const LIVE_POLL_MS = 15000;
  const DOWN_POLL_MS = 5000;
  let socket = null;
  let connected = false;
  let retry = 1000;
  let pending = null;
  let waiting = false; // a reload is owed once the supervisor closes the open actions
  let tickTimer = null;

  function show(state, text) {
    if (!live) return;
    live.dataset.state = state;
    live.textContent = text;
  }

  const PAUSE_TEXT = paused ? paused.textContent : "";
  const PLAYING_TEXT = "Updates wait while a recording plays.";

  function playing() {
    for (const player of section.querySelectorAll("audio")) {
      if (!player.paused && !player.ended) return true;
    }
    return false;
  }

  function busy() {
    // An open action panel, or focus inside one, or a recording playing: leave the table alone.
    if (section.querySelector("details[open]")) return true;
    if (playing()) return true;
    const active = document.activeElement;
    return Boolean(active && section.contains(active) && active.closest("form"));
  }

  function hold() { // say why the table waits
    waiting = true;
    if (!paused) return;
    paused.textContent = playing() ? PLAYING_TEXT : PAUSE_TEXT;
    paused.hidden = false;
  }

  function stop() { // the session ended (SC shows "Signed out"): no more requests or reconnects
    show("down", "signed out");
    clearTimeout(tickTimer);
    if (socket) { const closing = socket; socket = null; closing.close(); }
  }

  async function refresh() {
    if (SC.isSignedOut()) return;
    if (busy()) { hold(); return; }
    const answer = await SC.request(url);
    if (answer.status === 401) { stop(); return; }
    if (answer.status === 403) { // no longer a supervisor: say so and stop asking
      show("down", "not allowed");
      clearTimeout(tickTimer);
      if (socket) { const closing = socket; socket = null; closing.close(); }
      return;
    }
    if (!answer.ok || typeof answer.payload.html !== "string") return; // the next hint or tick tries again
    if (busy()) { hold(); return; } // opened (or started playing) meanwhile
    section.innerHTML = answer.payload.html;
    if (summary) {
      for (const count of summary.querySelectorAll("[data-count]")) {
        const value = answer.payload[count.dataset.count];
        // Only a change is written: the summary is a live region, read out when it changes.
        if (value !== undefined && count.textContent !== String(value)) count.textContent = String(value);
      }
    }
    section.dataset.refreshed = String(Date.now());
  }

  // Several hints in a burst make one request.
  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 250);
  }

  // Closing the actions (or leaving their form), or a recording stopping, lets an owed reload happen.
  function release() {
    if (waiting && !busy()) { waiting = false; if (paused) paused.hidden = true; soon(); }
  }
  section.addEventListener("toggle", release, true);
  section.addEventListener("focusout", () => { setTimeout(release, 0); });
  // Media events do not bubble: listen in the capture phase.
  section.addEventListener("pause", release, true);
  section.addEventListener("ended", release, true);

  function connect() {
    if (SC.isSignedOut()) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    try {
      socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
    } catch (error) {
      show("polling", "polling");
      return;
    }
    socket.addEventListener("open", () => {
      retry = 1000;
      connected = true;
      show("live", "live");
      soon(); // what happened while it was down
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "queue.changed" || message.type === "agent.status") soon();
    });
    socket.addEventListener("close", () => {
      connected = false;
      if (SC.isSignedOut() || !socket) return;
      show("polling", "polling");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  function tick() {
    if (SC.isSignedOut()) return;
    refresh();
    tickTimer = setTimeout(tick, connected ? LIVE_POLL_MS : DOWN_POLL_MS);
  }

  connect();
  tickTimer = setTimeout(tick, DOWN_POLL_MS);
})();
