// The result page: uploads a clip, follows its job, plays the clip with each face's box and label
// drawn over it, and shows each face's expressions as bands over the video's time.
"use strict";

const COLORS = {neutral: "#98a2b3", surprise: "#f79009", happy: "#12b76a", disgust: "#7a5af8",
                sad: "#2e90fa", fear: "#ee46bc", anger: "#f04438"};
// What each error code means to the person who uploaded the clip (the server's text goes under "details").
const MESSAGES = {
  empty_input: "The file is empty.",
  not_a_video: "This file is not a video that vfer can read (a picture, a text or another kind of file?).",
  corrupt_video: "The video is damaged: none of its pictures could be decoded.",
  invalid_input: "The file could not be used as a video.",
  limit_exceeded: "The video is too big for this server (its size, resolution, length or number of frames).",
  upload_too_large: "The file is larger than this server accepts.",
  missing_upload: "No file arrived with the upload.",
  malformed_upload: "The upload arrived damaged; please try again.",
  upload_timeout: "The upload stalled and was stopped; please try again.",
  upload_expired: "The uploaded file expired before a worker could read it; please upload it again.",
  unauthorized: "This server needs a valid API key: enter it above.",
  job_not_found: "The job is unknown or has expired.",
  preview_not_found: "The server has no playable copy of this video.",
  invalid_option: "An option of the request is not valid.",
  invalid_parameters: "An option of the request is not valid.",
  model_not_found: "The server does not have the requested model.",
  time_limit_exceeded: "The video took longer than this server allows for one job; try a shorter clip.",
  cancelled: "The job was cancelled.",
  queue_full: "The server is busy; please try again in a moment.",
  broker_unavailable: "The server cannot reach its job queue right now; please try again in a moment.",
  storage_unavailable: "The server cannot store uploads right now; please try again in a moment.",
  deadline_exceeded: "The server did not answer in time; please try again.",
  worker_crashed: "The video stopped the worker that read it, three times; it was not analysed.",
  window_data_lost: "The server lost the faces it had found in this video before it could classify them (it restarted, or waited too long). Please try again.",
  resource_missing: "The server is missing one of its models; its operator has to fix this.",
  internal_error: "The server failed unexpectedly; please try again later.",
  network: "The server could not be reached.",
};
const NO_FACE = "vfer finds faces that look roughly toward the camera and are large and bright enough; " +
  "profiles, covered faces, tiny or very dark faces are missed.";

const $ = (id) => document.getElementById(id);
const pct = (p) => `${Math.round(p * 100)}\u00a0%`;  // never broken before the "%"
const seconds = (t) => (t >= 60 ? `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, "0")}` : `${+t.toFixed(1)} s`);

class RequestError extends Error {
  constructor(code, detail, httpStatus) {
    super(MESSAGES[code] || `The server answered ${httpStatus || "with an error"}.`);
    this.code = code;
    this.detail = detail;
  }
}

function setStatus(text, {error = false, fraction = null, busy = false, detail = null} = {}) {
  $("status").className = error ? "error" : "";
  $("status-text").textContent = text;
  const bar = $("progress");
  bar.hidden = !(busy || fraction !== null);
  if (fraction === null) bar.removeAttribute("value"); else bar.value = fraction;
  $("status-detail").hidden = !detail;
  $("status-detail").querySelector("code").textContent = detail || "";
}

function failure(status, body) {
  const error = (body && body.error) || {};
  return new RequestError(error.code, error.message, status);
}

// --- upload and job --------------------------------------------------------------------------

// Whether this browser plays the file (metadata with a picture within a few seconds): MPEG-PS,
// HEVC and some .mov do not, and then the server is asked for a copy it can (?preview=true).
function playsHere(file) {
  return new Promise((resolve) => {
    const probe = document.createElement("video");
    const url = URL.createObjectURL(file);
    let settled = false;
    const done = (plays) => {
      if (settled) return;
      settled = true;
      probe.removeAttribute("src");
      URL.revokeObjectURL(url);
      resolve(plays);
    };
    probe.muted = true;
    probe.preload = "metadata";
    probe.addEventListener("loadedmetadata", () => done(probe.videoWidth > 0));
    probe.addEventListener("error", () => done(false));
    setTimeout(() => done(false), 4000);
    probe.src = url;
  });
}

function send(file, headers, preview) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", preview ? "predict?wait=10&preview=true" : "predict?wait=10");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    const mb = (n) => (n / 1e6).toFixed(1);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setStatus(`Uploading ${file.name}: ${mb(e.loaded)} of ${mb(e.total)} MB`, {fraction: e.loaded / e.total});
    };
    xhr.upload.onload = () => setStatus(`${file.name} uploaded; finding faces…`, {busy: true});
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: a proxy's page */ }
      resolve({status: xhr.status, body, jobId: xhr.getResponseHeader("X-Job-Id")});
    };
    xhr.onerror = () => reject(new RequestError("network", null));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

async function poll(url, headers) {
  for (;;) {
    const r = await fetch(url, {headers});
    const body = await r.json().catch(() => null);
    if (!r.ok) throw failure(r.status, body);
    if (body.status === "done") return body.result;
    if (body.status === "failed" || body.status === "cancelled") throw failure(r.status, body.error ? body : {error: {code: "cancelled"}});
    const p = body.progress;
    if (p && p.duration_s > 0) setStatus(`Analysing: ${seconds(p.done_s)} of ${seconds(p.duration_s)}`, {fraction: p.done_s / p.duration_s});
    else setStatus(body.status === "queued" ? "Waiting for a worker…" : "Analysing…", {busy: true});
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

async function upload(file) {
  const headers = {};
  if ($("key").value) headers["X-API-Key"] = $("key").value;
  $("result").hidden = true;
  setStatus(`Uploading ${file.name}…`, {busy: true});
  try {
    const preview = !(await playsHere(file));
    const {status, body, jobId} = await send(file, headers, preview);
    let result;
    if (status === 200) result = body;
    else if (status === 202) result = await poll(body.status_url, headers);
    else throw failure(status, body);
    show(result, file, preview ? {jobId, headers} : null);
    setStatus(`${file.name}: done`);
    describeModel($("model-quality"), headers, (models) => models.find((m) => m.name === result.model.name), false,
      $("trust"));
  } catch (e) {
    setStatus(e.message, {error: true, detail: e.detail || null});
    if (!(e instanceof RequestError)) throw e;
  }
}

// --- the result ------------------------------------------------------------------------------

// How far to trust the answering model (`which` picks it from GET /models): what it measured on
// people it never saw. `named`: say which model it is first (the live view has no result to name it);
// `brief`: where one sentence of it goes beside the answer, the rest being further down.
async function describeModel(out, headers, which, named = false, brief = null) {
  out.textContent = "";
  if (brief) brief.textContent = "";
  let body, listed;
  try {
    const r = await fetch("models", {headers});
    if (!r.ok) return;  // the answer stands without it
    body = await r.json();
    listed = which(body.models);
  } catch (e) {
    return;
  }
  const name = listed && named ? `Model: ${listed.name} ${listed.version}, ${KINDS[listed.kind] || listed.kind}. ` : "";
  if (!listed || !listed.development) {
    out.textContent = name + "This model was not measured by vfer: its quality is unknown.";
    return;
  }
  const d = listed.development;
  const ruled = Object.keys(d.recall).filter((l) => d.support[l] >= 100).map((l) => `${l} ${pct(d.recall[l])}`);
  const few = Object.keys(d.support).filter((l) => d.support[l] < 100);
  const gap = Math.round(100 * (d.confidence - d.accuracy));
  const sure = gap > 0 ? `${gap} points too sure` : gap < 0 ? `${-gap} points too unsure` : "about right";
  out.textContent = name + `On faces it never trained on, it named the expression right for ` +
    `${pct(d.ferplus_accuracy)} of ${d.ferplus_faces} web faces (each labelled by ten people) and ` +
    `${pct(d.accuracy)} of ${d.photos} photos of ${d.people} people; by expression: ${ruled.join(", ")} ` +
    `(${few.join(" and ")}: too few faces to say). Its percentages run ${sure}: on those photos it gave its ` +
    `answer ${pct(d.confidence)} on average and was right ${pct(d.accuracy)} of the time. `;
  if (brief) brief.textContent = `On faces it never trained on it was right ${pct(d.ferplus_accuracy)} of the ` +
    `time; percentages run ${sure}. More under the timeline.`;
  const card = document.createElement("a");
  card.href = body.card;
  card.textContent = "The model card";
  out.append(card, " says how it was trained and measured, and its limits.");
}

const mid = (w) => (w.start_s + w.end_s) / 2;

// Each window owns the time nearest its centre, from the face's first start to its last end.
function spans(face) {
  const ws = face.windows;
  return ws.map((w, i) => ({
    window: w,
    from: i === 0 ? w.start_s : (mid(ws[i - 1]) + mid(w)) / 2,
    to: i === ws.length - 1 ? w.end_s : (mid(w) + mid(ws[i + 1])) / 2,
  }));
}

// The face at time t: its box moving linearly between window centres, the nearest window's label.
function faceAt(face, t) {
  const ws = face.windows;
  if (!ws.length || t < ws[0].start_s || t > ws[ws.length - 1].end_s) return null;
  let i = 0;
  while (i < ws.length - 1 && mid(ws[i + 1]) <= t) i++;
  const a = ws[i], b = ws[Math.min(i + 1, ws.length - 1)];
  const f = b === a || t <= mid(a) ? 0 : (t - mid(a)) / (mid(b) - mid(a));
  return {box: a.box.map((v, k) => v + (b.box[k] - v) * f), window: f < 0.5 ? a : b};
}

function ticks(duration) {
  const step = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => duration / s <= 5) || 1200;
  const out = [];
  for (let t = 0; t <= duration - step * 0.35; t += step) out.push(t);
  out.push(duration);
  return out;
}

function timeline(face, duration) {
  const x = (t) => `${(100 * Math.min(Math.max(t / duration, 0), 1)).toFixed(3)}%`;
  const bands = spans(face).map(({window: w, from, to}) => {
    const p = w.distribution[w.label];
    const tip = `${w.start_s.toFixed(2)}–${w.end_s.toFixed(2)} s: ${saying(w.distribution, w.label)}`;
    const close = closeSecond(w.distribution) ? " close" : "";
    return `<span class="band${p < 0.5 ? " weak" : ""}${close}" data-label="${w.label}" data-from="${from}" data-to="${to}"
      style="left:${x(from)};width:calc(${x(to)} - ${x(from)});background:${COLORS[w.label]}" title="${tip}"></span>`;
  }).join("");
  const all = ticks(duration);
  const axis = all.map((t, i) => `<span class="${i === 0 ? "first" : i === all.length - 1 ? "last" : ""}" style="left:${x(t)}">${seconds(t)}</span>`).join("");
  return `<div class="timeline" data-track="${face.track_id}" tabindex="0" role="slider" aria-valuemin="0"
      aria-valuemax="${duration}" aria-label="expressions of face ${face.track_id} over time; click to seek">
    <div class="lane">${bands}<div class="cursor"></div></div>
    <div class="axis">${axis}</div>
    <div class="caption">time in the video · each band is the expression of the 2 seconds around it (thinner: under
      50 %; striped: a close call); click to seek</div>
  </div>`;
}

function bars(labels, dist) {
  return labels.map((l) => `<div class="bar" data-label="${l}"><span>${l}</span>
    <div class="track"><div class="fill" style="width:${Math.round(dist[l] * 100)}%;background:${COLORS[l]}"></div></div>
    <span>${pct(dist[l])}</span></div>`).join("");
}

let current = null;  // {result, duration}

const KINDS = {
  frame: "it reads each frame on its own, then averages them over each 2-second stretch",
  video: "it reads each 2-second stretch of 8 frames as a whole, movement included (a 3D CNN + ConvLSTM)",
};

// Where the stretches one by one mostly say something other than the face's average: "though
// most 2-s stretches alone say disgust (6 of 10)"; nothing when they agree with it.
function stretchesDiffer(face) {
  const counts = {};
  for (const w of face.windows) counts[w.label] = (counts[w.label] || 0) + 1;
  const [label, n] = Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
  return label === face.label ? "" : `, though most 2-s stretches alone say ${label} (${n} of ${face.windows.length})`;
}

// The runner-up of a distribution when it is within 10 points of the top label (a close call).
const CLOSE = 0.10;
function closeSecond(dist) {
  const [first, second] = Object.keys(dist).sort((a, b) => dist[b] - dist[a]);
  return dist[first] - dist[second] < CLOSE ? second : null;
}
const closeCall = (dist) => {
  const [first, second] = Object.keys(dist).sort((a, b) => dist[b] - dist[a]);
  return `A close call: ${second} is ${pct(dist[second])}, within 10 points of ${first}.`;
};
// "sad 30 %", or for a close call "sad 30 % or disgust 28 %": the mark goes wherever a label does.
function saying(dist, label) {
  const second = closeSecond(dist);
  return `${label} ${pct(dist[label])}` + (second ? ` or ${second} ${pct(dist[second])}` : "");
}

function show(result, file, preview) {
  const duration = result.video.duration_s || Math.max(0, ...result.faces.map((f) => f.end_s));
  current = {result, duration};
  $("result").hidden = false;
  const labels = result.labels;
  const model = result.model;
  $("model").textContent = `Model: ${model.name} ${model.version}, ${KINDS[model.kind] || model.kind}.`;
  $("legend").innerHTML = labels.map((l) => `<span><i style="background:${COLORS[l]}"></i>${l}</span>`).join("");
  if (result.no_face) {
    $("headline").textContent = "No face found in this video";
    $("headline").classList.remove("close");
    $("subline").textContent = NO_FACE;
    $("bars").innerHTML = ""; $("faces").innerHTML = ""; $("legend").innerHTML = "";
  } else {
    const second = closeSecond(result.distribution);
    $("headline").textContent = `Main face: ${result.label} (${pct(result.distribution[result.label])})` +
      (second ? `, a close call with ${second} (${pct(result.distribution[second])})` : "");
    $("headline").classList.toggle("close", Boolean(second));
    const n = result.faces.length;
    $("subline").textContent = `${n} face${n > 1 ? "s" : ""} in ${seconds(duration)} of video` +
      (result.partial ? " · the end of the file was damaged: only its readable part was analysed" : "");
    $("bars").innerHTML = `<p class="muted bars-caption">Face ${result.main_track_id} (the main face, seen longest):
      the mean of its windows' distributions</p>` + bars(labels, result.distribution);
    $("faces").innerHTML = result.faces.map((f) => `<div class="face" data-track="${f.track_id}">
      <strong>Face ${f.track_id}</strong> <span class="muted">seen ${f.start_s.toFixed(2)}–${f.end_s.toFixed(2)} s;
      over that time <span class="face-label">${f.label}</span>&nbsp;(${pct(f.distribution[f.label])})${stretchesDiffer(f)}</span>
      ${f.uncertain ? `<p class="muted close">${closeCall(f.distribution)}</p>` : ""}
      ${result.faces.length > 1 ? `<details><summary>its distribution</summary>${bars(labels, f.distribution)}</details>` : ""}
      ${timeline(f, duration)}</div>`).join("");
  }
  if (preview) loadPreview(preview.jobId, preview.headers); else loadVideo(file);
  $("result").scrollIntoView({block: "start"});  // on a phone the answer starts below the first screen
  for (const lane of document.querySelectorAll(".timeline")) {
    lane.addEventListener("click", (e) => seek(lane, e.clientX));
    lane.addEventListener("keydown", (e) => {
      const step = {ArrowLeft: -1, ArrowRight: 1}[e.key];
      if (step) { e.preventDefault(); setTime(clock() + step); }
    });
  }
  draw();
}

// --- playback, overlay, cursor ---------------------------------------------------------------

let manualTime = 0;  // the cursor's time when the browser cannot play the clip
const video = $("video");
const playable = () => video.readyState >= 1 && video.videoWidth > 0;
const clock = () => (playable() ? video.currentTime : manualTime);

function setTime(t) {
  const clamped = Math.min(Math.max(t, 0), current ? current.duration : 0);
  if (playable()) video.currentTime = clamped; else manualTime = clamped;
  draw();
}

function seek(lane, clientX) {
  const rect = lane.querySelector(".lane").getBoundingClientRect();
  setTime(((clientX - rect.left) / rect.width) * current.duration);
}

function loadVideo(file) {
  if (video.src) URL.revokeObjectURL(video.src);
  $("playnote").hidden = true;
  $("player").hidden = false;
  video.src = URL.createObjectURL(file);
}

// The server's copy (WebM, on the result's clock) of a file this browser cannot play; fetched
// rather than linked, so that an API key goes with it.
async function loadPreview(jobId, headers) {
  if (video.src) URL.revokeObjectURL(video.src);
  $("player").hidden = true;
  try {
    const r = await fetch(`jobs/${jobId}/preview`, {headers});
    if (!r.ok) throw failure(r.status, await r.json().catch(() => null));
    video.src = URL.createObjectURL(await r.blob());
    $("player").hidden = false;
    $("playnote").hidden = false;
    $("playnote").textContent = "This browser cannot play the file itself: this is a smaller copy the server made, on the same clock as the results.";
  } catch (e) {
    cannotPlay();
    if (!(e instanceof RequestError)) throw e;
  }
}

function cannotPlay() {
  $("player").hidden = true;
  $("playnote").hidden = false;
  $("playnote").textContent = "This browser cannot show this kind of video, so it is not played here; the results below are complete.";
}
video.addEventListener("error", cannotPlay);
video.addEventListener("loadedmetadata", () => { if (!video.videoWidth) cannotPlay(); });  // sound only: e.g. HEVC
for (const event of ["loadedmetadata", "seeked", "timeupdate", "pause"]) video.addEventListener(event, () => draw());
video.addEventListener("play", function frame() {
  draw();
  if (!video.paused && !video.ended) requestAnimationFrame(frame);
});
window.addEventListener("resize", () => draw());

// On a phone the native controls would cover the lower half of the boxes: there a tap on the
// picture plays or pauses, and the timelines below seek.
const narrow = window.matchMedia("(max-width: 600px)");
const fitControls = () => {
  video.controls = !narrow.matches;
  $("tap-hint").hidden = !narrow.matches;
};
narrow.addEventListener("change", fitControls);
fitControls();
video.addEventListener("click", () => {
  if (video.controls) return;
  if (video.paused) video.play(); else video.pause();
});

// A fresh overlay canvas at the screen's pixel ratio, and `place`: where a box in a frame of
// frameW x frameH pixels lands on the picture `el` shows (letterboxed, like object-fit: contain),
// mirrored or not; null until the video has a size.
function overlay(canvas, el, frameW, frameH, mirrored = false) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * ratio);
  canvas.height = Math.round(canvas.clientHeight * ratio);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = `${Math.round(13 * ratio)}px system-ui, sans-serif`;
  ctx.lineWidth = 2.5 * ratio;
  if (!el.videoWidth || !frameW || !frameH) return {ctx, ratio, place: null};
  const scale = Math.min(canvas.width / el.videoWidth, canvas.height / el.videoHeight);
  const shownW = el.videoWidth * scale, shownH = el.videoHeight * scale;
  const left = (canvas.width - shownW) / 2, top = (canvas.height - shownH) / 2;
  const sx = shownW / frameW, sy = shownH / frameH;
  const place = ([x, y, w, h]) => [left + (mirrored ? frameW - x - w : x) * sx, top + y * sy, w * sx, h * sy];
  return {ctx, ratio, place};
}

// A face's box in its label's colour, its text on a tab above it (inside when at the top edge,
// pulled in when the box is near the right edge, as a second face's often is on a phone).
function labelledBox(ctx, ratio, [bx, by, bw, bh], color, text) {
  ctx.strokeStyle = color;
  ctx.strokeRect(bx, by, bw, bh);
  const pad = 4 * ratio, th = 18 * ratio, tw = ctx.measureText(text).width + 2 * pad;
  const ty = by - th >= 0 ? by - th : by;
  const tx = Math.max(0, Math.min(bx - ctx.lineWidth / 2, ctx.canvas.width - tw));  // never cut at an edge
  ctx.fillStyle = color;
  ctx.fillRect(tx, ty, tw, th);
  ctx.fillStyle = "#fff";
  ctx.fillText(text, tx + pad, ty + th - 5 * ratio);
}

function draw() {
  if (!current) return;
  const t = clock();
  for (const cursor of document.querySelectorAll(".timeline .cursor")) {
    cursor.style.left = `${(100 * Math.min(t / (current.duration || 1), 1)).toFixed(3)}%`;
  }
  for (const el of document.querySelectorAll(".timeline")) el.setAttribute("aria-valuenow", t.toFixed(2));
  const canvas = $("overlay");
  const {ctx, ratio, place} = overlay(canvas, video, current.result.video.width, current.result.video.height);
  canvas.dataset.drawn = "0";
  if (!playable() || !place) return;
  let drawn = 0;
  for (const face of current.result.faces) {
    const at = faceAt(face, t);
    if (!at) continue;
    const label = at.window.label, color = COLORS[label];
    labelledBox(ctx, ratio, place(at.box), color, `${face.track_id}: ${saying(at.window.distribution, label)}`);
    drawn++;
  }
  canvas.dataset.drawn = String(drawn);
}

// --- choosing a file -------------------------------------------------------------------------

const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
$("file").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]); });

// --- camera mode: live frames to /stream over a WebSocket --------------------------------------

const LIVE = {fps: 8, maxWidth: 640, horizon_s: 60, laggingAfter_s: 1.5};
const CAMERA_MESSAGES = {
  NotAllowedError: "The camera was not allowed. Allow this page to use it (the camera icon in the address bar), then try again.",
  SecurityError: "The camera was not allowed. Allow this page to use it (the camera icon in the address bar), then try again.",
  NotFoundError: "No camera was found on this device.",
  OverconstrainedError: "No camera was found on this device.",
  NotReadableError: "The camera is in use by another program, or could not be started.",
  unsupported: "This browser offers the camera only to pages served over HTTPS or from localhost.",
  lost: "The connection to the server was lost; the live view stopped.",
};
const liveVideo = $("live-video");
let live = null;  // {media, ws, timer, t0, windows, sent: {width, height}, stopping}

const streamUrl = () => {
  const url = new URL("stream", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
};
const liveClock = () => (performance.now() - live.t0) / 1000;  // the stream's time: seconds since the camera started

async function startCamera() {
  if (live) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus(CAMERA_MESSAGES.unsupported, {error: true});
    return;
  }
  setStatus("Asking for the camera…", {busy: true});
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: LIVE.maxWidth}}, audio: false});
  } catch (e) {
    setStatus(CAMERA_MESSAGES[e.name] || "The camera could not be started.", {error: true, detail: `${e.name}: ${e.message}`});
    return;
  }
  $("result").hidden = true;
  $("live").hidden = false;
  $("live-legend").innerHTML = Object.keys(COLORS).map((l) => `<span><i style="background:${COLORS[l]}"></i>${l}</span>`).join("");
  liveVideo.srcObject = media;
  const ws = new WebSocket(streamUrl());
  live = {media, ws, timer: null, t0: performance.now(), windows: [], sent: null, stopping: false, busy: false};
  ws.onopen = () => {
    const config = {format: "jpeg"};  // no model: the server's default, which the page describes
    const headers = {};
    if ($("key").value) {
      config.api_key = $("key").value;
      headers["X-API-Key"] = $("key").value;
    }
    describeModel($("live-model"), headers, (models) => models.find((m) => m.default), true);
    ws.send(JSON.stringify(config));
    live.timer = setInterval(sendFrame, 1000 / LIVE.fps);
    setStatus("Live: your camera's frames go to this server, about 8 a second; results follow each 2 s window.");
    requestAnimationFrame(drawLive);
  };
  // After Stop the server still sends the stream's last window, then closes: by then `live` is
  // null, or another stream's if the camera was started again; this stream's ending is not its.
  const mine = () => live !== null && live.ws === ws;
  ws.onmessage = (m) => {
    if (!mine()) return;
    const body = JSON.parse(m.data);
    if (body.error) { live.error = body.error; return; }
    live.windows.push(body);
    const oldest = liveClock() - LIVE.horizon_s;
    live.windows = live.windows.filter((w) => w.end_s >= oldest);
    liveTimelines();
  };
  ws.onclose = (e) => {
    if (!mine()) return;  // stopped by the page, which said so
    const error = live.error;
    const stopping = live.stopping;
    stopCamera();
    if (error) setStatus(MESSAGES[error.code] || "The server ended the live view.", {error: true, detail: error.message});
    else if (!stopping && e.code !== 1000) setStatus(CAMERA_MESSAGES.lost, {error: true, detail: `close code ${e.code}`});
    else setStatus("The live view stopped.");
  };
}

// One frame, downscaled to at most LIVE.maxWidth, as JPEG with its capture time (skipped while the
// previous one is still being encoded or the network is behind: the stream stays live, not late).
const grab = document.createElement("canvas");
function sendFrame() {
  if (!live || live.ws.readyState !== WebSocket.OPEN || live.busy || live.ws.bufferedAmount > 1e6) return;
  if (!liveVideo.videoWidth) return;
  const scale = Math.min(1, LIVE.maxWidth / liveVideo.videoWidth);
  grab.width = Math.round(liveVideo.videoWidth * scale);
  grab.height = Math.round(liveVideo.videoHeight * scale);
  grab.getContext("2d").drawImage(liveVideo, 0, 0, grab.width, grab.height);
  live.sent = {width: grab.width, height: grab.height};
  const time = liveClock();
  live.busy = true;
  grab.toBlob((jpeg) => {
    if (!live) return;
    live.busy = false;
    if (!jpeg || live.ws.readyState !== WebSocket.OPEN) return;
    const head = new DataView(new ArrayBuffer(8));
    head.setFloat64(0, time, true);
    live.ws.send(new Blob([head, jpeg]));
  }, "image/jpeg", 0.85);
}

function stopCamera() {
  if (!live) return;
  const {media, ws, timer} = live;
  live.stopping = true;
  clearInterval(timer);
  for (const track of media.getTracks()) track.stop();
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({end: true}));  // the server sends the last window, then closes
  live = null;
  liveVideo.srcObject = null;
  // Nothing of the stopped view stays: no last box, age or "now" over a black player.
  const canvas = $("live-overlay");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.drawn = "0";
  for (const id of ["live-note", "live-faces", "live-model"]) $(id).textContent = "";
  $("live").hidden = true;
}

// Each face of the latest window over the live (mirrored) picture, with the window's age when it lags.
function drawLive() {
  if (!live) return;
  const canvas = $("live-overlay");
  const sent = live.sent || {width: 0, height: 0};
  const {ctx, ratio, place} = overlay(canvas, liveVideo, sent.width, sent.height, true);  // mirrored, as the picture is
  const latest = live.windows[live.windows.length - 1];
  let drawn = 0;
  if (latest && place) {
    const age = liveClock() - latest.end_s;
    for (const face of latest.faces) {
      const color = COLORS[face.label];
      labelledBox(ctx, ratio, place(face.box), color,
        `${face.track_id}: ${saying(face.distribution, face.label)}` +
        (age > LIVE.laggingAfter_s ? ` · ${age.toFixed(0)} s ago` : ""));
      drawn++;
    }
    $("live-note").textContent = latest.faces.length ?
      `Each label is the expression of the last ${(latest.end_s - latest.start_s).toFixed(0)} s; the latest came ${age.toFixed(1)} s ago.` :
      `No face in the last 2 s. ${NO_FACE}`;
  }
  canvas.dataset.drawn = String(drawn);
  if (liveClock() - (live.timelineAt || 0) > 1) liveTimelines();  // the timeline scrolls with time
  requestAnimationFrame(drawLive);
}

// The last 60 s of each face: a band per window in its expression's colour, now at the right edge.
function liveTimelines() {
  const now = liveClock(), from = now - LIVE.horizon_s;
  live.timelineAt = now;
  const x = (t) => `${(100 * Math.min(Math.max((t - from) / LIVE.horizon_s, 0), 1)).toFixed(3)}%`;
  const tracks = new Map();
  for (const w of live.windows) for (const f of w.faces) {
    if (!tracks.has(f.track_id)) tracks.set(f.track_id, []);
    tracks.get(f.track_id).push({w, f});
  }
  $("live-faces").innerHTML = [...tracks].map(([track, seen]) => {
    // Windows overlap: each band covers only what is new in its window (since the one before),
    // so the label at "now" is the newest window's, not one that also spans a second earlier.
    const bands = seen.map(({w, f}, i) => {
      const p = f.distribution[f.label];
      const from = i > 0 ? Math.max(w.start_s, seen[i - 1].w.end_s) : w.start_s;
      const close = closeSecond(f.distribution) ? " close" : "";
      return `<span class="band${p < 0.5 ? " weak" : ""}${close}" data-label="${f.label}" title="${saying(f.distribution, f.label)}"
        style="left:${x(from)};width:calc(${x(w.end_s)} - ${x(from)});background:${COLORS[f.label]}"></span>`;
    }).join("");
    const last = seen[seen.length - 1].f;
    const second = closeSecond(last.distribution);
    return `<div class="face" data-track="${track}"><strong>Face ${track}</strong> <span class="muted">now
      <span class="face-label">${last.label}</span> (${pct(last.distribution[last.label])})${second ?
        `, <span class="close-call">a close call with ${second} (${pct(last.distribution[second])})</span>` : ""}</span>
      <div class="timeline"><div class="lane">${bands}</div>
      <div class="axis"><span class="first" style="left:0">−60 s</span><span class="last" style="left:100%">now</span></div></div></div>`;
  }).join("");
}

$("camera").addEventListener("click", startCamera);
$("stop").addEventListener("click", () => { if (live) { live.stopping = true; stopCamera(); setStatus("The live view stopped."); } });
