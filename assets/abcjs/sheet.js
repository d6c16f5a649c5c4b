// The tune's player and sheet music for the musicgen page (see index.html for the arguments from Python).
//
// The sound is the server's: an <audio> element plays the WAV the page rendered. The sheet follows it:
// abcjs's TimingCallbacks give every note's moment in the written tune (repeats played out, a pick-up at 0);
// those moments, scaled so that the last note ends where the server's notes end (music_s), are looked up
// from the player's currentTime on every animation frame, and the notes sounding get the class "mg-now".
// A click on a note moves the player to that note (its nearest time through, when repeats play it twice).
// A passage to practise has an audio of its own (rendered slower on the server, with an optional count-in):
// it plays from the start and then loops from the count-in's end to its last note; its notes are found in
// the tune's sheet by their characters (the excerpt keeps them at a fixed offset).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const tuneAudio = $("tune");
  const loopAudio = $("loop");
  const base = new URLSearchParams(location.search).get("streamlitUrl") || location.origin + "/";
  const NARROW_PX = 560; // a sheet narrower than this is drawn for its width (a phone)
  const FOLLOW_SLOP_S = 0.03;
  const PAGE_HEIGHT = "257mm"; // A4 less its margins (14 mm) and the footer: the printable page's sheet at most
  const PAGE_RATIO = 257 / 182; // its height over its width // a note lights up this much before its sound: a frame and the audio's latency

  const state = {
    abc: null, visual: null, events: [], times: [], byChar: new Map(), charTimes: new Map(),
    audioUrl: null, follows: false, loop: null, loopKey: null, marked: null, now: [], frame: 0,
    rendered: false, title: "", stem: "tune", choose: false,
  };

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
  }
  function sendHeight() {
    send("streamlit:setFrameHeight", { height: Math.ceil(document.body.getBoundingClientRect().height) + 2 });
  }
  function media(url) {
    return new URL(url.replace(/^\//, ""), base).href;
  }
  function note(text) {
    $("note").textContent = text || "";
    sendHeight();
  }

  // ------------------------------------------------------------------ timings
  function timings(visual, musicS) {
    const list = new ABCJS.TimingCallbacks(visual, { qpm: 60 }).noteTimings || [];
    const total = list.length ? list[list.length - 1].milliseconds : 0;
    const events = list.filter((e) => e.type === "event");
    const scale = total > 0 && musicS > 0 ? musicS / total : 0.001; // seconds per abcjs millisecond
    return { events: events, times: events.map((e) => e.milliseconds * scale) };
  }
  function indexAt(times, t) {
    let lo = 0, hi = times.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t + FOLLOW_SLOP_S) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }
  function flat(elements) {
    return [].concat.apply([], (elements || []).map((g) => Array.from(g || [])));
  }

  // ------------------------------------------------------------------ drawing
  function draw(abc, title) {
    $("sheet").setAttribute("aria-label", "sheet music: " + (title || "tune"));
    $("print-copy").innerHTML = "";
    const options = {
      responsive: "resize", // the SVG follows the column's width
      add_classes: true, // abcjs-note classes: the browser tests count them
      clickListener: clicked,
      paddingtop: 0, paddingbottom: 4, paddingleft: 0, paddingright: 0,
    };
    const width = document.body.clientWidth;
    if (width > 0 && width < NARROW_PX) { // a phone: fewer bars a line, drawn for its width, so they can be read
      options.staffwidth = Math.max(240, width - 24);
      options.wrap = { minSpacing: 1.4, maxSpacing: 2.4, preferredMeasuresPerLine: 3 };
    }
    const tunes = ABCJS.renderAbc("paper", abc, options);
    state.visual = tunes[0] || null;
    state.now = [];
    const warnings = (state.visual && state.visual.warnings) || [];
    // abcjs warnings hold HTML markup around the offending text; show the text only.
    $("warnings").textContent = warnings.length
      ? "The notation has " + warnings.length + " problem(s) abcjs skipped, e.g. " + warnings[0].replace(/<[^>]*>/g, "")
      : "";
    retime();
  }
  function retime() {
    state.byChar = new Map();
    state.charTimes = new Map();
    if (!state.visual) { state.events = []; state.times = []; return; }
    const t = timings(state.visual, (state.audio && state.audio.music_s) || 0);
    state.events = t.events;
    state.times = t.times;
    t.events.forEach((ev, i) => {
      (ev.startCharArray || [ev.startChar]).forEach((c, k) => {
        if (!state.byChar.has(c)) state.byChar.set(c, Array.from((ev.elements || [])[k] || []));
        if (!state.charTimes.has(c)) state.charTimes.set(c, []);
        state.charTimes.get(c).push(t.times[i]);
      });
    });
    mark();
  }
  function mark() {
    document.querySelectorAll("#paper .mg-marked").forEach((e) => e.classList.remove("mg-marked"));
    if (!state.marked) return;
    state.byChar.forEach((els, c) => {
      if (c >= state.marked[0] && c < state.marked[1]) els.forEach((e) => e.classList.add("mg-marked"));
    });
  }
  function light(els) {
    state.now.forEach((e) => e.classList.remove("mg-now"));
    state.now = els;
    els.forEach((e) => e.classList.add("mg-now"));
    document.body.dataset.now = els.length ? String(state.lit) : "";
  }

  // ------------------------------------------------------------------ following the sound
  function playing() {
    if (!loopAudio.paused && state.loop) return loopAudio;
    if (!tuneAudio.paused) return tuneAudio;
    return null;
  }
  function step() {
    const a = playing();
    if (!a) return false;
    if (a === loopAudio) {
      const loop = state.loop;
      if (a.currentTime >= loop.end_s) {
        a.currentTime = loop.start_s;
        a.dataset.loops = String(Number(a.dataset.loops || 0) + 1);
      }
      const i = indexAt(loop.times, a.currentTime);
      state.lit = i;
      light(i >= 0 ? loop.elements[i] : []);
    } else if (state.follows) {
      const i = indexAt(state.times, a.currentTime);
      state.lit = i;
      light(i >= 0 ? flat(state.events[i].elements) : []);
    }
    return true;
  }
  function tick() {
    state.frame = step() ? requestAnimationFrame(tick) : 0;
  }
  function started(other) {
    return function () {
      if (!other.paused) other.pause();
      if (!state.frame) state.frame = requestAnimationFrame(tick);
    };
  }
  tuneAudio.addEventListener("play", started(loopAudio));
  loopAudio.addEventListener("play", started(tuneAudio));
  [tuneAudio, loopAudio].forEach((a) => {
    a.addEventListener("timeupdate", step); // where animation frames are not run (a hidden tab)
    a.addEventListener("seeked", step);
  });
  tuneAudio.addEventListener("ended", () => light([]));
  loopAudio.addEventListener("ended", () => { // a passage shorter than its loop point: go round anyway
    if (!state.loop) return;
    loopAudio.currentTime = state.loop.start_s;
    loopAudio.dataset.loops = String(Number(loopAudio.dataset.loops || 0) + 1);
    loopAudio.play().catch(() => {});
  });

  // A click on a note also tells Python which note it was (to choose its bar to rewrite): its first character
  // in the text drawn (in UTF-16 units, as JavaScript counts), that text's length (a click on an older drawing
  // is told apart) and a token of this click alone (the same note clicked again is a new choice).
  let clicks = 0;
  const tokenBase = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  function chose(c) {
    if (!state.choose) return;
    clicks += 1;
    const value = { at: c, length: (state.abc || "").length, token: tokenBase + "." + clicks };
    send("streamlit:setComponentValue", { value: value, dataType: "json" });
  }
  function clicked(abcElem) {
    const c = abcElem && abcElem.startChar;
    if (typeof c !== "number") return;
    chose(c);
    const loop = state.loop;
    if (loop && !loopAudio.paused) {
      const i = loop.sources.indexOf(c);
      if (i >= 0) { loopAudio.currentTime = loop.times[i]; return; }
    }
    const times = state.charTimes.get(c);
    if (!state.follows || !state.audioUrl || !times) return;
    const now = tuneAudio.currentTime;
    const t = times.reduce((best, x) => (Math.abs(x - now) < Math.abs(best - now) ? x : best), times[0]);
    tuneAudio.currentTime = Math.max(0, t);
    tuneAudio.play().catch(() => note("Press the player's play button to hear it from there."));
  }

  // ------------------------------------------------------------------ the passage to practise
  function setLoop(loop) {
    const key = loop ? loop.url + "|" + loop.start_s + "|" + loop.from + "|" + loop.length : null;
    if (key === state.loopKey) return false;
    state.loopKey = key;
    if (!loop || loopAudio.dataset.url !== loop.url) loopAudio.dataset.loops = "0";
    if (!loop) {
      state.loop = null;
      loopAudio.pause();
      loopAudio.removeAttribute("src");
      delete loopAudio.dataset.url;
      $("loop-row").hidden = true;
      return false;
    }
    const holder = $("excerpt");
    const visual = ABCJS.renderAbc(holder, loop.abc, { add_classes: false })[0];
    const t = visual ? timings(visual, loop.music_s) : { events: [], times: [] };
    const sources = [], elements = [];
    t.events.forEach((ev) => {
      const own = (ev.startCharArray || [ev.startChar]).filter((c) => c >= loop.at && c < loop.at + loop.length);
      const src = own.map((c) => c - loop.at + loop.from);
      sources.push(src.length ? src[0] : -1);
      elements.push([].concat.apply([], src.map((c) => state.byChar.get(c) || [])));
    });
    holder.innerHTML = "";
    state.loop = Object.assign({}, loop, {
      times: t.times, sources: sources, elements: elements, end_s: loop.music_s,
    });
    $("loop-label").textContent = loop.label;
    $("loop-row").hidden = false;
    if (loopAudio.dataset.url === loop.url) return false; // the same sound, its notes found again
    loopAudio.dataset.url = loop.url;
    loopAudio.src = media(loop.url);
    return true;
  }

  // ------------------------------------------------------------------ printing
  function printSvg() {
    const holder = document.createElement("div");
    holder.style.cssText = "position:absolute;left:-10000px;top:0;width:760px;";
    document.body.appendChild(holder);
    ABCJS.renderAbc(holder, state.abc || "", {
      staffwidth: 720, responsive: "resize", paddingtop: 0, paddingbottom: 0, paddingleft: 0, paddingright: 0,
      wrap: { minSpacing: 1.2, maxSpacing: 2.7, preferredMeasuresPerLine: 4 }, // 32 bars: 8 lines, one page
    });
    const svg = holder.querySelector("svg");
    let out = "";
    if (svg) {
      svg.removeAttribute("style");
      svg.setAttribute("width", "100%");
      const box = (svg.getAttribute("viewBox") || "0 0 1 1").split(/\s+/).map(Number);
      // A sheet a little taller than the page is drawn smaller to fit it; a long tune flows onto more pages.
      if (box[3] / box[2] < PAGE_RATIO * 1.25) svg.setAttribute("style", "max-height: " + PAGE_HEIGHT);
      out = svg.outerHTML;
    }
    holder.remove();
    return out;
  }
  function escapeHtml(text) {
    const d = document.createElement("div");
    d.textContent = text;
    return d.innerHTML;
  }
  function printablePage() {
    return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escapeHtml(state.title || "Tune")
      + "</title>\n<style>@page { size: A4; margin: 14mm; } html, body { margin: 0; background: #fff; color: #000; }"
      + " svg { display: block; width: 100%; height: auto; } footer { font: 9pt sans-serif; color: #555; margin-top: 4mm; }"
      + "</style></head>\n<body><main>" + printSvg() + "</main><footer>Written with musicgen.</footer></body></html>\n";
  }
  window.addEventListener("beforeprint", () => {
    $("print-copy").innerHTML = printSvg();
    document.body.classList.add("copy");
  });
  window.addEventListener("afterprint", () => document.body.classList.remove("copy"));
  $("print").addEventListener("click", () => window.print());
  $("printable").addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([printablePage()], { type: "text/html" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = (state.stem || "tune") + ".html";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });

  // ------------------------------------------------------------------ a phone's sidebar
  function closeSidebarOnPhone(tries) {
    try { // the page is this component's parent, from the same server; nothing breaks if it cannot be reached
      const top = window.parent;
      if (top.innerWidth >= 768) return;
      const bar = top.document.querySelector('[data-testid="stSidebar"]');
      const button = bar && bar.querySelector('button[aria-label="Collapse sidebar"], [data-testid="stSidebarCollapseButton"] button');
      const open = bar && (bar.dataset.collapsed === "false" || (button && button.getAttribute("aria-expanded") === "true"));
      if (!open) return;
      if (button) button.click();
      // a click while the sidebar slides in may be lost: look again a little later
      if (tries > 1) setTimeout(() => closeSidebarOnPhone(tries - 1), 500);
    } catch (e) { /* another origin: leave the sidebar as it is */ }
  }
  function fresh(name, token) { // a token not seen before in this browser tab (an iframe reloads with old ones)
    if (!token) return false;
    try {
      if (sessionStorage.getItem("musicgen." + name) === token) return false;
      sessionStorage.setItem("musicgen." + name, token);
    } catch (e) { /* storage refused: act on it once in this frame */ }
    return true;
  }

  // ------------------------------------------------------------------ arguments from Python
  function render(args) {
    const abc = args.abc || "";
    state.title = args.title || "";
    state.stem = args.stem || "tune";
    state.follows = Boolean(args.follows);
    state.choose = Boolean(args.choose); // a click chooses a bar (the tune's sheet, not a sheet alone)
    const audio = args.audio || null;
    const url = audio ? audio.url : null;
    const retimed = !state.audio || !audio || state.audio.music_s !== audio.music_s;
    state.audio = audio;
    state.marked = args.marked || null;
    try { // abcjs throws on some tunes it cannot lay out or time: the sound and the rest still follow
      if (abc !== state.abc) {
        state.abc = abc;
        state.loopKey = null; // the passage's notes are found again in the new drawing
        draw(abc, args.title);
      } else if (retimed) {
        retime();
      } else {
        mark();
      }
    } catch (e) {
      state.events = [];
      state.times = [];
      $("warnings").textContent = "The sheet music could not be drawn in full (abcjs: " + e.message + "); the sound is the whole tune.";
    }
    if (url !== state.audioUrl) {
      state.audioUrl = url;
      if (url) tuneAudio.src = media(url); else { tuneAudio.pause(); tuneAudio.removeAttribute("src"); }
    }
    $("tune-row").hidden = !url;
    const newLoop = setLoop(args.loop || null);
    if (newLoop && state.rendered) loopAudio.play().catch(() => note("Press the passage's play button to hear it."));
    if (url && fresh("play", args.play)) {
      tuneAudio.currentTime = 0;
      tuneAudio.play().catch(() => note("Press the player's play button to hear it."));
    }
    if (fresh("compose", args.compose)) closeSidebarOnPhone(5);
    state.rendered = true;
    sendHeight();
  }

  // What the page's browser tests read: the moments (s) the sheet lights each event, the tune's and the passage's.
  window.musicgenSheet = {
    times: () => state.times.slice(),
    loopTimes: () => (state.loop ? state.loop.times.slice() : []),
    loop: () => (state.loop ? { start_s: state.loop.start_s, end_s: state.loop.end_s } : null),
  };

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (data && data.type === "streamlit:render") render(data.args || {});
  });
  new ResizeObserver(sendHeight).observe(document.body);
  send("streamlit:componentReady", { apiVersion: 1 });
})();
