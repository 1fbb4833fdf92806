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
