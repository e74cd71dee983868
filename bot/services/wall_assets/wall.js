// The live wall. Asks the server what is published, shows one testimonial at a time, the
// newest first when it arrives, and drops at once whatever the server no longer serves.
// Text is only ever set with textContent (the CSP requires Trusted Types for any HTML sink).
// Every delay goes through setTimeout, so a test can drive the page with a fake clock.
"use strict";

(function () {
  const body = document.body;
  const FEED = body.dataset.feed;
  const POLL = Number(body.dataset.poll) || 2000;
  const CONTINUED = body.dataset.continued || "…";
  const FADE = 700; // ms, as the transition in wall.css
  // Font sizes tried, in vmin, largest first; the last is the smallest readable from afar.
  const SIZES = [4.6, 4.2, 3.8, 3.5, 3.2, 2.9, 2.7];
  // Where a long testimonial may be cut: after a word, at an ordinary space or line break
  // (the no-break spaces of French typography hold « and » to their words).
  const WORD = /[^ \t\r\n]+/g;

  const card = document.getElementById("card");
  const empty = document.getElementById("empty");
  const offline = document.getElementById("offline");

  let entries = []; // what the server serves now, newest first
  let known = null; // the keys of the last answer (null before the first)
  let ahead = []; // keys to show before the rotation resumes: new arrivals, newest first
  let shown = null; // the key on screen
  let timer = 0;
  let etag = "";

  function find(key) {
    return entries.find((entry) => entry.key === key) || null;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function build(entry, paragraphs, cut) {
    const who = element("header", "who");
    if (entry.photo) {
      const photo = element("img", "photo");
      photo.alt = "";
      photo.src = entry.photo;
      who.append(photo);
    }
    if (entry.name) who.append(element("p", "name", entry.name));
    for (const line of entry.organisation) who.append(element("p", "org", line));
    if (entry.session) who.append(element("p", "entry-session", entry.session));
    const words = element("div", "words");
    for (const text of paragraphs) words.append(element("p", "para", text));
    if (cut && words.lastChild) words.lastChild.append(element("span", "continued", CONTINUED));
    if (entry.tags) words.append(element("p", "tags", entry.tags));
    card.replaceChildren(who, words);
  }

  function overflows() {
    return card.scrollHeight > card.clientHeight + 1 || card.scrollWidth > card.clientWidth + 1;
  }

  // Every place a cut may fall: [paragraph, offset] after each word but the very last.
  function cuts(paragraphs) {
    const found = [];
    paragraphs.forEach((text, index) => {
      for (const match of text.matchAll(WORD)) found.push([index, match.index + match[0].length]);
    });
    found.pop();
    return found;
  }

  function opening(paragraphs, [index, offset]) {
    // No comma or colon left dangling before the ellipsis.
    const last = paragraphs[index].slice(0, offset).replace(/[\s,;:]+$/u, "");
    return paragraphs.slice(0, index).concat([last]);
  }

  // In full at the largest size that fits; else at the smallest, its longest opening that
  // fits, cut after a word, followed by "… (continued in the channel)".
  function fit(entry) {
    build(entry, entry.paragraphs, false);
    for (const size of SIZES) {
      card.style.setProperty("--size", String(size));
      if (!overflows()) {
        card.dataset.cut = "no";
        return;
      }
    }
    const places = cuts(entry.paragraphs);
    let low = 0;
    let high = places.length - 1;
    let best = 0;
    while (low <= high) {
      const middle = (low + high) >> 1;
      build(entry, opening(entry.paragraphs, places[middle]), true);
      if (overflows()) {
        high = middle - 1;
      } else {
        best = middle;
        low = middle + 1;
      }
    }
    if (places.length) build(entry, opening(entry.paragraphs, places[best]), true);
    card.dataset.cut = "yes";
  }

  function show(entry) {
    if (!entry) {
      shown = null;
      card.hidden = true;
      card.removeAttribute("data-key");
      empty.hidden = false;
      return;
    }
    empty.hidden = true;
    card.hidden = false;
    fit(entry);
    shown = entry.key;
    card.dataset.key = entry.key;
    // Longer words stay longer, within reason.
    const length = entry.paragraphs.join(" ").length;
    timer = setTimeout(advance, Math.min(45000, 9000 + length * 35));
  }

  function next() {
    while (ahead.length) {
      const entry = find(ahead.shift());
      if (entry) return entry;
    }
    if (!entries.length) return null;
    const index = entries.findIndex((entry) => entry.key === shown);
    return entries[(index + 1) % entries.length];
  }

  function advance() {
    clearTimeout(timer);
    const entry = next();
    if (shown === null || card.hidden) {
      show(entry);
      return;
    }
    card.classList.add("leaving");
    timer = setTimeout(() => {
      show(entry);
      card.classList.remove("leaving");
    }, FADE);
  }

  function update(list) {
    const fresh = known === null ? [] : list.filter((entry) => !known.has(entry.key));
    known = new Set(list.map((entry) => entry.key));
    entries = list;
    ahead = fresh.map((entry) => entry.key).concat(ahead.filter((key) => known.has(key)));
    body.dataset.count = String(list.length);
    if (fresh.length || shown === null || !find(shown)) {
      if (list.length || shown !== null || empty.hidden) advance();
    }
    body.dataset.ready = "yes";
  }

  async function poll() {
    // Set while a question is out: a test that moves the page's clock waits for the answer
    // to be handled before moving it on.
    body.dataset.asking = "yes";
    try {
      const response = await fetch(FEED, {
        cache: "no-store",
        credentials: "omit",
        headers: etag ? { "If-None-Match": etag } : {},
      });
      if (response.status === 200) {
        const data = await response.json();
        etag = response.headers.get("ETag") || "";
        update(data.entries);
      } else if (response.status !== 304) {
        throw new Error("HTTP " + response.status);
      }
      offline.hidden = true;
    } catch (error) {
      // The server restarts or the network dropped: keep what is shown, ask again.
      offline.hidden = false;
    }
    delete body.dataset.asking;
    setTimeout(poll, POLL);
  }

  // Measure with the wall's own font, not the fallback it would be swapped for later.
  const faces = ['1em "Livredor Vera"', 'bold 1em "Livredor Vera"', 'italic 1em "Livredor Vera"'];
  Promise.all(faces.map((face) => document.fonts.load(face)))
    .catch(() => null)
    .then(poll);
})();
