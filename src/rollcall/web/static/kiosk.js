// The kiosk screen: follows the session's last minute over server-sent events.
// Lines are built with textContent only: a name is data, never markup.
"use strict";

(function () {
  const root = document.getElementById("kiosk");
  if (!root) return;
  const list = document.getElementById("kiosk-lines");
  const empty = document.getElementById("kiosk-empty");
  const state = document.getElementById("kiosk-state");

  function text(tag, cls, value) {
    const el = document.createElement(tag);
    el.className = cls;
    el.textContent = value;
    return el;
  }

  function render(lines) {
    list.replaceChildren(
      ...lines.map(function (line) {
        const item = document.createElement("li");
        item.className = "line " + line.kind;
        item.dataset.key = line.key;
        const photo = document.createElement("img");
        photo.src = line.crop;
        photo.alt = "";
        item.append(photo);
        const words = document.createElement("div");
        if (line.kind === "unknown") {
          words.append(text("div", "name", "Not recognised"));
          words.append(text("div", "what", "please see staff"));
        } else if (line.kind === "visitor") {
          words.append(text("div", "name", line.name));
          words.append(text("div", "what", "not on the list: please see staff"));
        } else {
          words.append(text("div", "name", line.name));
          const what = line.kind === "again" ? "already marked at " : "marked at ";
          words.append(text("div", "what", what + line.at));
        }
        item.append(words);
        return item;
      })
    );
    empty.hidden = lines.length > 0;
  }

  const source = new EventSource(root.dataset.stream);
  let offlineTimer = null;
  function offline() {
    state.textContent = "Offline: ask staff";
    state.classList.add("offline");
  }
  function live() {
    clearTimeout(offlineTimer);
    offlineTimer = null;
    state.textContent = "Live";
    state.classList.remove("offline");
  }
  source.onopen = live;
  source.onmessage = function (event) {
    live();
    render(JSON.parse(event.data));
  };
  // The server ends each stream after a while and EventSource reconnects by itself at once;
  // still reconnecting after OFFLINE_AFTER_MS, the server is down (the page said "Live" for
  // as long as it was: an entrance operator's review).
  const OFFLINE_AFTER_MS = 5000;
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      // Closed for good (a proxy answered 502 while the server was down): the page is
      // loaded again after a while, not left offline until someone reloads it.
      offline();
      setTimeout(function () { window.location.reload(); }, 15000);
    } else if (offlineTimer === null) {
      offlineTimer = setTimeout(offline, OFFLINE_AFTER_MS);
    }
  };
  source.addEventListener("revoked", function () {
    source.close();
    render([]);
    empty.textContent = "This kiosk link was revoked: ask staff for a new one.";
    state.textContent = "Stopped";
    state.classList.add("offline");
  });
})();
