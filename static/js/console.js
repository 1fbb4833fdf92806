// The agent console (SPEC R1, R5, R6, R13). Hand-written.
//
// The server is the authority: the page shows what GET state.json answers, and
// reloads it on every (re)connect of the socket, after every push (pushes are
// only hints), after every action, and every few seconds while the socket is
// down (the WSGI demo server has no WebSocket at all). Actions go to the API
// over HTTP with the session and the CSRF header; the server re-checks them.
(() => {
  const script = document.currentScript;
  const cfg = script.dataset;
  const pollMs = Math.max(1, Number(cfg.pollSeconds || 4)) * 1000;
  // Even with the socket up: a push can be lost, or (in-memory layer) sent by another process.
  const livePollMs = Math.max(1, Number(cfg.livePollSeconds || 30)) * 1000;
  const $ = (id) => document.getElementById(id);
  const withId = (url, id) => url.replace("/0/", `/${id}/`);

  const KIND = { live: "Live call", callback: "Callback" };
  const STATUS_HINTS = {
    online: "Available: you will be offered calls and callbacks.",
    away: "Away: offers wait until you are back online.",
    transfers_only: "Transfers only: queued calls and callbacks are not offered to you.",
    offline: "Offline: no calls or callbacks are offered to you.",
  };
  const PUSHES = new Set(["offer.new", "offer.withdrawn", "offer.accepted", "queue.changed", "agent.status", "ticket.updated"]);
  const WITHDRAWN = {
    timed_out: "The offer timed out and went to the next agent.",
    accepted: "Accepted.",
    declined: "You didn't answer; the caller keeps their place and the next agent is offered it (once every agent has declined a callback, it is cancelled and its ticket says so).",
    withdrawn: "The offer was withdrawn.",
    expired: "The callback request expired.",
    scheduled: "Scheduled for later: the callback left the queue until its time.",
  };

  let state = JSON.parse($("console-initial").textContent);
  let clockOffset = Date.parse(state.server_time) - Date.now(); // server time minus this browser's time
  let socket = null;
  let socketOpen = false;
  let retries = 0;
  let pollTimer = null;
  let pollEvery = 0;
  let reloadTimer = null;
  let reloadAt = 0;
  let loading = null;
  let acting = false;
  let noticeFor = null; // the offer the notice speaks of
  let callNotice = null; // the number of the call the notice speaks of, until the agent is free again

  // --- Noticing an offer without looking: a tone, the tab's title, a notification ---------
  const baseTitle = document.title;
  const consoleBox = $("console-offer");
  let audio = null; // made or resumed on a click: browsers start sound only after a gesture
  let titleTimer = null;
  let tones = 0;

  function audioReady() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    audio = audio || new Context();
    if (audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }
  document.addEventListener("click", audioReady, { capture: true });

  function tone() { // two short beeps, made here: no audio file
    const ctx = audioReady();
    if (!ctx) return;
    [[0, 880], [0.25, 660]].forEach(([at, hz]) => {
      const oscillator = ctx.createOscillator();
      const gain = ctx.createGain();
      const start = ctx.currentTime + at;
      oscillator.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
      oscillator.connect(gain).connect(ctx.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.22);
    });
    tones += 1;
    consoleBox.dataset.tones = String(tones);
    consoleBox.dataset.audioState = ctx.state;
  }

  function flashTitle() { // while an offer waits, the tab's title says so every other second
    clearInterval(titleTimer);
    let on = false;
    titleTimer = setInterval(() => {
      if (!state.offer || SC.isSignedOut()) { clearInterval(titleTimer); titleTimer = null; document.title = baseTitle; return; }
      on = !on;
      document.title = on ? `● ${KIND[state.offer.kind] || "Offer"}: ${state.offer.number || "unknown number"}` : baseTitle;
    }, 1000);
  }

  function alertOffer(offer) {
    tone();
    flashTitle();
    if (document.hidden && "Notification" in window && Notification.permission === "granted") {
      const note = new Notification(`${KIND[offer.kind] || "Offer"} for you`, {
        body: `${offer.number || "Unknown number"} · ${offer.line.name}`, tag: `offer-${offer.id}`,
      });
      note.onclick = () => { window.focus(); note.close(); };
    }
  }

  const notifyButton = $("console-notify");
  function renderNotify() {
    const can = "Notification" in window && Notification.permission === "default";
    notifyButton.hidden = !can;
  }
  notifyButton.addEventListener("click", () => {
    Notification.requestPermission().then(renderNotify, renderNotify);
  });
  renderNotify();

  // --- Rendering ------------------------------------------------------------------
  function show(el, text) { el.hidden = !text; el.textContent = text || ""; }

  function notice(offerId, text) { // what became of an offer, said once
    noticeFor = offerId;
    callNotice = null;
    show($("console-offer-notice"), text);
  }

  function duration(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(s).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function tick() {
    const offer = state.offer;
    if (!offer) return;
    const now = Date.now() + clockOffset;
    $("offer-waited").textContent = duration(now - Date.parse(offer.entered_at));
    const left = Date.parse(offer.expires_at) - now;
    $("offer-expires").textContent = left > 0 ? duration(left) : "ending…";
  }

  function renderStatus() {
    const a = state.availability;
    document.querySelectorAll("#console-status [data-status]").forEach((button) => {
      button.setAttribute("aria-checked", String(button.dataset.status === a.agent_state));
    });
    $("console-availability").textContent = a.call_status === "on_call"
      ? "On a call: new offers wait until you finish." : (STATUS_HINTS[a.agent_state] || "");
    document.dispatchEvent(new CustomEvent("sc:status-shown", { detail: a.agent_state })); // the header's switch
  }

  function renderOffer() {
    const offer = state.offer;
    const box = $("console-offer");
    box.dataset.offerId = offer ? offer.id : "";
    box.classList.toggle("has-offer", Boolean(offer));
    $("console-offer-body").hidden = !offer;
    $("console-offer-empty").hidden = Boolean(offer);
    $("console-offer-empty").textContent = state.availability.available || state.availability.call_status
      ? "No offer right now." : "No offer right now. Go online to receive calls and callbacks.";
    renderRecording(offer);
    if (!offer) return;
    $("offer-kind").textContent = KIND[offer.kind] || offer.kind;
    $("offer-kind").className = `talk-badge kind-${offer.kind}`;
    const confirmed = $("offer-confirmed");
    confirmed.hidden = offer.kind !== "callback";
    confirmed.textContent = offer.confirmed ? "Confirmed by the caller" : "Captured: the caller hung up after the key";
    confirmed.className = `talk-badge ${offer.confirmed ? "ok" : "warn"}`;
    $("offer-number").textContent = offer.number || "Unknown number";
    $("offer-line").textContent = offer.line.name;
    $("offer-call").disabled = acting;
    $("offer-decline").disabled = acting;
    $("offer-later").hidden = offer.kind !== "callback";
    $("offer-later").disabled = acting;
    tick();
  }

  // The caller's recorded name and reason (SPEC C14): the native player, loaded only when the
  // agent presses play. The same recording keeps playing across the state's reloads; an offer
  // without one (or no offer) stops it.
  function renderRecording(offer) {
    const recording = offer && offer.recording;
    const player = $("offer-recording-audio");
    $("offer-recording").hidden = !recording;
    if (!recording) {
      if (player.hasAttribute("src")) { player.pause(); player.removeAttribute("src"); player.load(); }
      return;
    }
    if (player.getAttribute("src") !== recording.url) player.src = recording.url;
    $("offer-recording-length").textContent = recording.duration_seconds ? `${recording.duration_seconds} s` : "";
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function renderQueues() {
    const rows = state.queues.map((q) => {
      const tr = document.createElement("tr");
      tr.append(cell(q.name), cell(String(q.calls_waiting), "num"), cell(String(q.callbacks_waiting), "num"));
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = cell("No lines yet.", "empty");
      td.colSpan = 3;
      tr.append(td);
      rows.push(tr);
    }
    $("console-queues").replaceChildren(...rows);
  }

  // Times in the account's zone (state.time_zone), never the browser's: every page shows
  // the same wall time for the same moment, labelled with the zone (docs/conventions.md).
  let clock = { zone: null, format: null };
  function wallTime(iso) {
    if (clock.zone !== state.time_zone) {
      let format = null;
      try {
        format = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: state.time_zone });
      } catch (error) { /* a zone this browser does not know: read the wall time off the ISO string */ }
      clock = { zone: state.time_zone, format };
    }
    // The server writes the ISO string in the account's offset, so its HH:MM is that wall time too.
    return clock.format ? clock.format.format(new Date(iso)) : iso.slice(11, 16);
  }

  // One row of the console's activity lists: what (number), its line, then the parts given.
  function activityRow(text, lineName) {
    const li = document.createElement("li");
    const what = document.createElement("span");
    what.className = "recent-what";
    what.textContent = text;
    const line = document.createElement("span");
    line.className = "muted";
    line.textContent = lineName;
    li.append(what, " ", line);
    return li;
  }

  function badge(kind, text) {
    const span = document.createElement("span");
    span.className = `talk-badge outcome-${kind}`;
    span.textContent = text;
    return span;
  }

  function timeAt(iso, text) {
    const when = document.createElement("time");
    when.className = "muted";
    when.dateTime = iso;
    when.title = state.time_zone;
    when.textContent = text;
    return when;
  }

  function renderRecent() {
    $("console-time-zone").textContent = `Times in ${state.time_zone}`;
    const items = state.recent.map((item) => {
      const li = activityRow(`${KIND[item.kind] || item.kind} ${item.number || ""}`, item.line.name);
      li.append(" ", badge(item.state, item.state_label));
      if (item.ticket) {
        const ticket = document.createElement("a");
        ticket.href = cfg.ticketUrl.replace("/0/", `/${item.ticket}/`);
        ticket.textContent = `Ticket #${item.ticket}`;
        li.append(" ", ticket);
      }
      li.append(" ", timeAt(item.offered_at, wallTime(item.offered_at)));
      return li;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "Nothing yet.";
      items.push(li);
    }
    $("console-recent").replaceChildren(...items);
  }

  function renderNotReached() {
    const items = (state.not_reached || []).map((item) => {
      const li = activityRow(item.number, item.line.name);
      const later = document.createElement("button");
      later.type = "button";
      later.textContent = "Call later";
      later.dataset.requestId = item.callback_request_id;
      later.setAttribute("aria-label", `Call ${item.number} later`);
      later.setAttribute("aria-controls", "call-later");
      later.title = `Until ${wallTime(item.call_later_until)} (${state.time_zone} time)`;
      later.addEventListener("click", () => openLater({ requestId: item.callback_request_id, number: item.number, offerId: null }));
      li.append(" ", badge(item.result, item.result_label), " ", timeAt(item.ended_at, wallTime(item.ended_at)), " ", later);
      return li;
    });
    $("console-not-reached-card").hidden = !items.length;
    $("console-not-reached").replaceChildren(...items);
  }

  function renderScheduled() {
    const items = (state.scheduled || []).map((item) => {
      const li = activityRow(item.number, item.line.name);
      // The server writes it in the account's offset: its date and HH:MM are that wall time.
      li.append(" ", timeAt(item.scheduled_for, `${item.scheduled_for.slice(0, 10)} ${wallTime(item.scheduled_for)}`));
      return li;
    });
    $("console-scheduled-card").hidden = !items.length;
    $("console-scheduled").replaceChildren(...items);
  }

  function render() {
    renderStatus();
    renderOffer();
    renderQueues();
    renderRecent();
    renderNotReached();
    renderScheduled();
    if (laterTargetGone()) closeLater(); // taken, timed out or scheduled meanwhile: the notice says which
  }

  function setLink(kind, text) {
    const link = $("console-link");
    link.dataset.state = kind;
    link.textContent = text;
  }

  // --- The authoritative state over HTTP --------------------------------------------
  async function reload() {
    if (loading) return loading;
    loading = (async () => {
      try {
        const answer = await SC.request(cfg.stateUrl);
        if (answer.status === 401 || answer.status === 403) { signOut(); return; }
        if (!answer.ok) return; // no answer or a time-out: the next poll or reconnect tries again
        const fresh = answer.payload;
        clockOffset = Date.parse(fresh.server_time) - Date.now();
        const previous = state.offer ? state.offer.id : null;
        state = fresh;
        if (state.offer && state.offer.id !== previous) { notice(null, ""); alertOffer(state.offer); }
        else if (callNotice && !state.offer && !state.availability.call_status) {
          // "Calling back…" is over: the agent is free again (the result is in Recent activity).
          notice(noticeFor, `Your call with ${callNotice} has ended.`);
        }
        else if (previous && !state.offer && noticeFor !== previous) {
          // Gone without a word (polling, or a missed push): say what became of it.
          const gone = state.recent.find((item) => item.id === previous);
          if (gone && WITHDRAWN[gone.state]) notice(previous, WITHDRAWN[gone.state]);
        }
        render();
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function reloadSoon(delay = 120) { // several pushes in a burst → one reload, at the earliest asked for
    const at = Date.now() + delay;
    if (reloadTimer !== null && reloadAt <= at) return;
    clearTimeout(reloadTimer);
    reloadAt = at;
    reloadTimer = setTimeout(() => { reloadTimer = null; reload(); }, delay);
  }

  function signOut() { // the session ended: say so (SC shows the notice), stop every timer and the socket
    setLink("down", "Signed out");
    stopPolling();
    clearTimeout(reloadTimer);
    if (socket) { const closing = socket; socket = null; closing.close(); }
    document.querySelectorAll(".console-layout button").forEach((button) => { button.disabled = true; });
  }

  function startPolling(every = pollMs) {
    if (SC.isSignedOut()) return;
    if (pollTimer !== null && pollEvery === every) return; // keep its rhythm across reconnect attempts
    stopPolling();
    pollEvery = every;
    pollTimer = setInterval(reload, every);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
    pollEvery = 0;
  }

  // --- The socket: hints only ---------------------------------------------------------
  function connect() {
    if (!("WebSocket" in window)) { startPolling(); setLink("polling", `Refreshing every ${Math.round(pollMs / 1000)} s`); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    try {
      socket = new WebSocket(`${scheme}://${location.host}${cfg.socketPath}`);
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket.addEventListener("open", () => {
      socketOpen = true;
      retries = 0;
      startPolling(livePollMs);
      setLink("live", "Live");
      reload();
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "hello") { reload(); return; }
      if (!PUSHES.has(message.type)) return;
      if (message.type === "offer.withdrawn" && state.offer && message.payload && message.payload.id === state.offer.id
          && noticeFor !== state.offer.id) { // an action of this page already said what became of it
        notice(state.offer.id, WITHDRAWN[message.payload.reason] || WITHDRAWN.withdrawn);
      }
      // queue.changed reaches every agent of the account at once: their reloads spread over
      // 1.5 s instead of arriving together; the agent's own offers reload at once.
      reloadSoon(message.type === "queue.changed" ? 120 + Math.random() * 1500 : 120);
    });
    socket.addEventListener("close", () => {
      const wasOpen = socketOpen;
      socketOpen = false;
      socket = null;
      if (SC.isSignedOut()) return;
      if (wasOpen) reload();
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (SC.isSignedOut()) return;
    // Backoff 1, 2, 4 … 30 s with jitter; meanwhile the state is polled.
    if (!socketOpen) startPolling();
    const delay = Math.min(30_000, 1000 * 2 ** retries) * (0.75 + Math.random() / 2);
    retries = Math.min(retries + 1, 6);
    setLink("polling", `Live connection down: refreshing every ${Math.round(pollMs / 1000)} s`);
    setTimeout(connect, delay);
  }

  // --- Actions over HTTP ---------------------------------------------------------------
  async function send(method, url, body) {
    const answer = await SC.request(url, {
      method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body === undefined ? {} : body),
    });
    if (answer.status === 401) signOut();
    return answer;
  }

  function describe(payload) {
    if (payload.details) {
      const first = Object.values(payload.details)[0];
      if (first && first[0]) return first[0].description;
    }
    return payload.description || payload.error || "Something went wrong; try again.";
  }

  document.querySelectorAll("#console-status [data-status]").forEach((button) => {
    button.addEventListener("click", async () => {
      show($("console-status-error"), "");
      const answer = await send("PUT", cfg.availabilityUrl, { availability: { agent_state: button.dataset.status } });
      if (!answer.ok) show($("console-status-error"), describe(answer.payload));
      else { state.availability = answer.payload.availability; renderStatus(); renderOffer(); }
      reload();
    });
  });

  async function answerOffer(url, done, call = false) {
    const offer = state.offer;
    if (!offer || acting) return;
    acting = true;
    renderOffer();
    show($("console-offer-error"), "");
    try {
      const answer = await send("POST", withId(url, offer.id));
      if (answer.ok) {
        notice(offer.id, done(answer.payload.offer));
        if (call) callNotice = offer.number;
      }
      else if (answer.status === 409 || answer.status === 404) notice(offer.id, describe(answer.payload));
      else show($("console-offer-error"), describe(answer.payload));
    } catch (error) {
      show($("console-offer-error"), "No connection to the server; try again.");
    } finally {
      acting = false;
      await reload();
    }
  }

  $("offer-call").addEventListener("click", () => answerOffer(cfg.acceptUrl, (offer) =>
    offer.kind === "callback"
      ? `Calling back ${offer.number}: ${state.device ? `your device (${state.device}) rings first` : "your softphone rings first"}.`
      : `Connecting you to ${offer.number}.`, true));
  $("offer-decline").addEventListener("click", () => answerOffer(cfg.declineUrl, () => WITHDRAWN.declined));

  // --- "Call later" (R16): a time picked in the account's zone ------------------------------
  // The datetime-local field holds the account's wall time (state.time_zone), whatever the
  // browser's zone: the server reads it in the account's zone. Quick picks are computed the same way.
  const laterBox = $("call-later");
  const laterInput = $("call-later-at");
  let laterFor = null; // { requestId, number, offerId (null: a callback not reached) }
  const pad = (n) => String(n).padStart(2, "0");

  function zoneParts(ms) {
    try {
      const parts = new Intl.DateTimeFormat("en-US", {
        timeZone: state.time_zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      }).formatToParts(new Date(ms));
      const get = (type) => Number(parts.find((part) => part.type === type).value);
      return { y: get("year"), mo: get("month"), d: get("day"), h: get("hour"), mi: get("minute") };
    } catch (error) { // a zone this browser does not know: its own wall time
      const at = new Date(ms);
      return { y: at.getFullYear(), mo: at.getMonth() + 1, d: at.getDate(), h: at.getHours(), mi: at.getMinutes() };
    }
  }
  const wallValue = (p) => `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
  function inMinutes(minutes) { // rounded up to the next whole minute
    const ms = Date.now() + clockOffset + minutes * 60000;
    return wallValue(zoneParts(Math.ceil(ms / 60000) * 60000));
  }
  function tomorrowAt(hour) {
    const today = zoneParts(Date.now() + clockOffset);
    const next = new Date(Date.UTC(today.y, today.mo - 1, today.d + 1));
    return wallValue({ y: next.getUTCFullYear(), mo: next.getUTCMonth() + 1, d: next.getUTCDate(), h: hour, mi: 0 });
  }
  const PICKS = { "5m": () => inMinutes(5), "1h": () => inMinutes(60), "tomorrow-10": () => tomorrowAt(10) };

  function laterError(text) {
    show($("call-later-error"), text);
    if (text) laterInput.setAttribute("aria-invalid", "true"); else laterInput.removeAttribute("aria-invalid");
  }

  function openLater(target) {
    laterFor = target;
    $("call-later-number").textContent = target.number || "unknown number";
    $("call-later-zone").textContent = state.time_zone;
    laterInput.min = inMinutes(1);
    laterInput.max = inMinutes((state.call_later_max_days || 30) * 24 * 60);
    laterInput.value = PICKS["1h"]();
    $("call-later-mine").checked = true;
    laterError("");
    laterBox.hidden = false;
    $("offer-later").setAttribute("aria-expanded", String(Boolean(target.offerId)));
    laterInput.focus();
  }

  function closeLater() {
    laterFor = null;
    laterBox.hidden = true;
    laterError("");
    $("offer-later").setAttribute("aria-expanded", "false");
  }

  function laterTargetGone() {
    if (!laterFor) return false;
    if (laterFor.offerId) return !state.offer || state.offer.id !== laterFor.offerId;
    return !(state.not_reached || []).some((item) => item.callback_request_id === laterFor.requestId);
  }

  $("offer-later").addEventListener("click", () => {
    const offer = state.offer;
    if (!offer || offer.kind !== "callback") return;
    if (laterFor && laterFor.offerId === offer.id) { closeLater(); return; }
    openLater({ requestId: offer.callback_request_id, number: offer.number, offerId: offer.id });
  });
  document.querySelectorAll("#call-later [data-pick]").forEach((button) => {
    button.addEventListener("click", () => { laterInput.value = PICKS[button.dataset.pick](); laterError(""); laterInput.focus(); });
  });
  $("call-later-close").addEventListener("click", closeLater);

  $("call-later-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const target = laterFor;
    if (!target || acting) return;
    const value = laterInput.value;
    if (!value) { laterError("Pick a date and a time."); laterInput.focus(); return; }
    acting = true;
    $("call-later-submit").disabled = true;
    renderOffer();
    try {
      const answer = await send("POST", cfg.callLaterUrl, {
        callback_request_id: target.requestId, scheduled_for: value, assign_to_me: $("call-later-mine").checked,
      });
      if (answer.ok) {
        const mine = answer.payload.callback_request.assignee_id === state.user.id;
        closeLater();
        notice(target.offerId, `Scheduled: ${target.number} will be offered ${mine ? "to you first" : "again"} at ${value.replace("T", " ")} (${state.time_zone} time).`);
      } else if (answer.status === 409 || answer.status === 404) {
        closeLater();
        notice(target.offerId, answer.status === 409 ? describe(answer.payload) : "This callback is no longer yours to call later.");
      } else if (answer.status !== 401) {
        laterError(describe(answer.payload));
        laterInput.focus();
      }
    } catch (error) {
      laterError("No connection to the server; try again.");
    } finally {
      acting = false;
      $("call-later-submit").disabled = false;
      await reload();
    }
  });

  $("console-device").addEventListener("submit", async (event) => {
    event.preventDefault();
    show($("console-device-error"), "");
    $("console-device-saved").hidden = true;
    const answer = await send("PUT", cfg.deviceUrl, { device: $("console-device-input").value });
    const input = $("console-device-input");
    input.setAttribute("aria-invalid", String(!answer.ok));
    if (!answer.ok) { show($("console-device-error"), describe(answer.payload)); return; }
    $("console-device-input").value = answer.payload.device;
    state.device = answer.payload.device;
    $("console-device-saved").hidden = false;
  });

  document.addEventListener("sc:status", () => reload()); // changed from the header's switch
  document.addEventListener("visibilitychange", () => { if (!document.hidden && !SC.isSignedOut()) reload(); });

  render();
  setInterval(tick, 1000);
  connect();
})();
