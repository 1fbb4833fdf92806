// Talk dashboard: the "Right now" tiles follow the queue (SPEC D6, R13).
// The socket only hints that the queue moved; the figures always come from
// the HTTP endpoint, on every hint, on (re)connect, and every 30 s as waits grow
// (every 5 s while the socket is down: then polling is all there is).
(() => {
  const section = document.getElementById("queue-tiles");
  if (!section) return;
  const url = section.dataset.url;
  const state = section.querySelector("[data-live-state]");
  let socket = null;
  let retry = 1000;
  let pending = null;
  let live = false;

  function stop() { // the session ended (SC shows "Signed out"): no more requests or reconnects
    if (state) { state.textContent = "signed out"; state.classList.add("offline"); }
    if (socket) { const closing = socket; socket = null; closing.close(); }
  }

  async function refresh() {
    if (SC.isSignedOut()) return;
    try {
      const answer = await SC.request(url);
      if (answer.status === 401) { stop(); return; }
      if (!answer.ok) return;
      const figures = answer.payload.current_queue_activity || {};
      for (const tile of section.querySelectorAll("[data-tile]")) {
        const value = figures[tile.dataset.tile];
        if (value === undefined) continue;
        const text = String(value);
        if (tile.textContent !== text) {
          tile.textContent = text;
          tile.classList.add("changed");
          setTimeout(() => tile.classList.remove("changed"), 1500);
        }
      }
      section.dataset.refreshed = String(Date.now());
    } catch (error) {
      // A failed refresh leaves the last figures; the next hint or tick tries again.
    }
  }

  // Several hints in a burst make one request.
  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 250);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    try {
      socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
    } catch (error) {
      return;
    }
    socket.addEventListener("open", () => {
      retry = 1000;
      live = true;
      if (state) { state.textContent = "live"; state.classList.remove("offline"); }
      soon();
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "queue.changed" || message.type === "agent.status") soon();
    });
    socket.addEventListener("close", () => {
      live = false;
      if (SC.isSignedOut()) return;
      if (state) { state.textContent = "polling"; state.classList.add("offline"); }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  function tick() {
    if (SC.isSignedOut()) return;
    refresh();
    setTimeout(tick, live ? 30000 : 5000);
  }

  connect();
  setTimeout(tick, 5000);
})();
