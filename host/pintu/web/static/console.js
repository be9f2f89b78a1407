// The door view's live part: new scans over Server-Sent Events, BLACK alerts with a sound until acknowledged,
// and the guard's Konfirmasi/Tolak buttons for a new YELLOW. Every text comes from the page (messages.py).
"use strict";

(function () {
  var door = document.getElementById("door");
  if (!door) { return; }
  var site = door.dataset.site, csrf = door.dataset.csrf;
  var scans = document.getElementById("scans"), alerts = document.getElementById("alerts");
  var holds = document.getElementById("holds"), live = document.getElementById("live");
  var audio = null, beeping = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function postForm(action, label, cls) {
    var form = el("form", "inline");
    form.method = "post";
    form.action = action;
    var token = el("input");
    token.type = "hidden"; token.name = "csrf"; token.value = csrf;
    var button = el("button", cls, label);
    button.type = "submit";
    form.appendChild(token); form.appendChild(button);
    return form;
  }

  // A sound made here (WebAudio), no asset: two tones repeated while an alert waits. Browsers start audio only
  // after the page had a click or a key; the first one on the page unlocks it.
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 660].forEach(function (freq, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = freq; gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + i * 0.25); osc.stop(audio.currentTime + i * 0.25 + 0.2);
      });
    } catch (e) { /* no audio on this device: the alert still shows */ }
  }

  function alarm() {
    var waiting = alerts.querySelectorAll(".alert").length > 0;
    document.body.classList.toggle("alarm", waiting);
    if (waiting && !beeping) { beep(); beeping = window.setInterval(beep, 2000); }
    if (!waiting && beeping) { window.clearInterval(beeping); beeping = null; }
  }

  function addAlert(ev) {
    if (alerts.querySelector('[data-event="' + ev.id + '"]')) { return; }
    var box = el("div", "alert");
    box.dataset.event = ev.id;
    box.appendChild(el("strong", null, door.dataset.tAlert));
    box.appendChild(document.createTextNode(" " + ev.time + " " + ev.door + " · " + ev.person + " · " + ev.reason_text));
    box.appendChild(postForm("/door/" + site + "/ack/" + ev.id, door.dataset.tAck, "ack"));
    alerts.appendChild(box);
  }

  function addHold(ev) {
    if (ev.person === null || holds.querySelector('[data-person="' + ev.person + '"]')) { return; }
    var box = el("div", "hold");
    box.dataset.person = ev.person;
    box.appendChild(document.createTextNode(ev.person + " · " + ev.door + " · " + ev.time + " "));
    box.appendChild(postForm("/door/" + site + "/hold/" + ev.person + "/confirm", door.dataset.tConfirm, "confirm"));
    box.appendChild(postForm("/door/" + site + "/hold/" + ev.person + "/refuse", door.dataset.tRefuse, "refuse"));
    holds.appendChild(box);
  }

  function addScan(ev) {
    var item = el("li", "scan v-" + ev.verdict);
    item.dataset.event = ev.id;
    item.appendChild(el("span", "time", ev.time));
    item.appendChild(el("span", "verdict", ev.verdict_text));
    item.appendChild(el("span", "shown", ev.shown));
    item.appendChild(el("span", "meta", ev.door + " · " + ev.reason_text + (ev.person ? " · " + ev.person : "")));
    scans.insertBefore(item, scans.firstChild);
    while (scans.children.length > 50) { scans.removeChild(scans.lastChild); }
    if (ev.occupancy !== null) { document.getElementById("inside").textContent = ev.occupancy; }
    if (ev.alert) { addAlert(ev); }
    if (ev.hold) { addHold(ev); }
    if (ev.hold_ends && ev.person !== null) {
      var held = holds.querySelector('[data-person="' + ev.person + '"]');
      if (held) { held.parentNode.removeChild(held); }
    }
    alarm();
  }

  var source = new EventSource("/door/" + site + "/stream?after=" + door.dataset.after);
  source.addEventListener("scan", function (msg) { addScan(JSON.parse(msg.data)); });
  source.onopen = function () { live.classList.remove("down"); };
  source.onerror = function () { live.classList.add("down"); };
  document.addEventListener("click", function () { if (audio && audio.state === "suspended") { audio.resume(); } });
  alarm();
  // A tablet left on this page stays logged in: each request renews the session's idle time.
  window.setInterval(function () {
    fetch("/ping", {credentials: "same-origin"}).then(function (r) { if (r.redirected) { window.location = "/login"; } });
  }, 5 * 60 * 1000);
}());
