// Live heads on the home page: every two seconds, read the page's JSON
// twin and update each layer's head, safe and finalized heights and base
// fee. The page works without it.
(function () {
  "use strict";
  function tick() {
    fetch("/api/", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (home) {
        if (!home || !home.Layers) { return; }
        home.Layers.forEach(function (l) {
          if (!l.Key) { return; }
          [["head", l.Head], ["safe", l.Safe], ["finalized", l.Finalized], ["basefee", l.BaseFeeGwei]].forEach(function (f) {
            var el = document.getElementById(f[0] + "-" + l.Key);
            if (el && el.textContent !== String(f[1])) {
              el.textContent = String(f[1]);
              if (el.tagName === "A") { el.setAttribute("href", "/" + l.Key + "/block/" + f[1]); }
            }
          });
        });
      })
      .catch(function () {});
  }
  setInterval(tick, 2000);
})();
