// Trivium's local image classifier: the NSFW model of the nsfwjs npm package (its weights ship
// inside the package, nothing is downloaded at run time) on TensorFlow.js's WebAssembly backend,
// served over the protocol of Trivium's http classifier driver (moderation/httpdetector.go):
//
//   POST /classify   body: the raw image bytes, Content-Type image/jpeg|png|webp
//   200 {"labels":[{"name":"Explicit Nudity","confidence":0–100}, …]}
//
// It answers with the three unsafe classes of the model, whatever their scores, and never with
// the safe ones (Neutral, Drawing): Trivium's Policy judges by the most confident label of any
// name, so a safe class must not be a label. Errors: 413 (too large), 415 (not an image type it
// reads), 422 (not decodable) are permanent for Trivium; 429 (queue full) and 503 (model still
// loading) are retried. GET /healthz is 200 once the model is loaded, 503 before.
//
// Settings (environment): CLASSIFIER_ADDR (host:port, default 0.0.0.0:8090), CLASSIFIER_MODEL
// (MobileNetV2 — default —, MobileNetV2Mid or InceptionV3), CLASSIFIER_BACKEND (wasm — default — or
// cpu), CLASSIFIER_MAX_BYTES (body cap, default 10485760), CLASSIFIER_MAX_PIXELS (decoded size
// cap, default 40000000), CLASSIFIER_QUEUE (requests waiting for the model, default 16).
"use strict";

const http = require("node:http");

const tf = require("@tensorflow/tfjs");
require("@tensorflow/tfjs-backend-wasm");
const nsfwjs = require("nsfwjs");
const sharp = require("sharp");

const SIZE = 224; // every bundled model but InceptionV3 takes 224×224 RGB
const TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
// nsfwjs class → label name. Names follow the top-level categories Trivium's Rekognition driver
// reports, so moderators read the same words whichever detector runs.
const UNSAFE = { Porn: "Explicit Nudity", Hentai: "Explicit Nudity (drawn)", Sexy: "Suggestive" };

function settings(env) {
  const int = (name, def, min) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return def;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name}=${raw}: want an integer ≥ ${min}`);
    return v;
  };
  const addr = env.CLASSIFIER_ADDR || "0.0.0.0:8090";
  const at = addr.lastIndexOf(":");
  const port = Number(addr.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`CLASSIFIER_ADDR=${addr}: want host:port`);
  }
  const model = env.CLASSIFIER_MODEL || "MobileNetV2";
  if (!["MobileNetV2", "MobileNetV2Mid", "InceptionV3"].includes(model)) {
    throw new Error(`CLASSIFIER_MODEL=${model}: want MobileNetV2, MobileNetV2Mid or InceptionV3`);
  }
  const backend = env.CLASSIFIER_BACKEND || "wasm";
  if (!["wasm", "cpu"].includes(backend)) throw new Error(`CLASSIFIER_BACKEND=${backend}: want wasm or cpu`);
  return {
    host: addr.slice(0, at) || "0.0.0.0",
    port,
    model,
    backend,
    size: model === "InceptionV3" ? 299 : SIZE,
    maxBytes: int("CLASSIFIER_MAX_BYTES", 10 << 20, 1),
    maxPixels: int("CLASSIFIER_MAX_PIXELS", 40000000, 1),
    queue: int("CLASSIFIER_QUEUE", 16, 1),
  };
}

function log(fields) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + "\n");
}

function reply(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function problem(res, status, detail, headers) {
  reply(res, status, { status, detail }, headers);
}

// readBody collects at most max bytes; past that it reports null. A body over the cap is still
// read to its end (and dropped) when it is at most four times the cap, so that the client
// finishes writing and reads the 413 instead of a reset; anything larger is cut off at once.
function readBody(req, max) {
  return new Promise((resolve, reject) => {
    const drainCap = 4 * max;
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > drainCap) {
      resolve(null);
      return;
    }
    const chunks = [];
    let size = 0;
    let over = false;
    req.on("data", (c) => {
      size += c.length;
      if (size > drainCap) {
        req.destroy();
        resolve(null);
        return;
      }
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(over ? null : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

// pixels decodes img (EXIF orientation applied, transparency flattened onto white) to size×size
// RGB bytes. The model sees the whole image squashed to a square, as nsfwjs's own resize does.
async function pixels(img, cfg) {
  const { data } = await sharp(img, { limitInputPixels: cfg.maxPixels, failOn: "error" })
    .rotate()
    .flatten({ background: "#ffffff" })
    .resize(cfg.size, cfg.size, { fit: "fill" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return data;
}

async function main() {
  const cfg = settings(process.env);
  await tf.setBackend(cfg.backend);
  await tf.ready();
  let model = null;
  let waiting = 0; // requests admitted and not yet answered
  let chain = Promise.resolve(); // inference runs one image at a time: the model is single-threaded

  const server = http.createServer(async (req, res) => {
    const path = req.url.split("?")[0];
    if (path === "/healthz") {
      if (model) reply(res, 200, { status: "ok", model: cfg.model, backend: tf.getBackend() });
      else problem(res, 503, "the model is still loading", { "Retry-After": "5" });
      return;
    }
    if (path !== "/classify" && path !== "/") {
      problem(res, 404, "POST images to /classify");
      return;
    }
    if (req.method !== "POST") {
      problem(res, 405, "POST the image bytes", { Allow: "POST" });
      return;
    }
    const type = String(req.headers["content-type"] || "").split(";")[0].trim().toLowerCase();
    if (!TYPES.has(type)) {
      problem(res, 415, `Content-Type ${type || "(none)"}: want image/jpeg, image/png or image/webp`);
      return;
    }
    if (!model) {
      problem(res, 503, "the model is still loading", { "Retry-After": "5" });
      return;
    }
    if (waiting >= cfg.queue) {
      problem(res, 429, `${waiting} images are already waiting`, { "Retry-After": "1" });
      return;
    }
    waiting++;
    const start = process.hrtime.bigint();
    try {
      const body = await readBody(req, cfg.maxBytes);
      if (body === null) {
        problem(res, 413, `the image is larger than ${cfg.maxBytes} bytes`, { Connection: "close" });
        return;
      }
      let raw;
      try {
        raw = await pixels(body, cfg);
      } catch (err) {
        problem(res, 422, `cannot decode the image: ${err.message}`);
        return;
      }
      const run = chain.then(async () => {
        const x = tf.tensor3d(new Int32Array(raw), [cfg.size, cfg.size, 3], "int32");
        try {
          return await model.classify(x, 5);
        } finally {
          x.dispose();
        }
      });
      chain = run.catch(() => {});
      const predictions = await run;
      const labels = predictions
        .filter((p) => UNSAFE[p.className])
        .map((p) => ({ name: UNSAFE[p.className], confidence: Math.round(p.probability * 10000) / 100 }))
        .sort((a, b) => b.confidence - a.confidence);
      reply(res, 200, { labels });
      log({ msg: "classified", bytes: body.length, ms: Number(process.hrtime.bigint() - start) / 1e6, top: labels[0] });
    } catch (err) {
      log({ msg: "classify failed", error: String(err && err.stack ? err.stack : err) });
      if (!res.headersSent) problem(res, 500, "classification failed");
    } finally {
      waiting--;
    }
  });
  server.requestTimeout = 30000;
  server.headersTimeout = 10000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.host, resolve);
  });
  const { port } = server.address();
  log({ msg: "listening", addr: `${cfg.host}:${port}`, model: cfg.model, backend: tf.getBackend() });

  const started = Date.now();
  model = await nsfwjs.load(cfg.model, { size: cfg.size });
  // One warm-up inference, so the first real image does not pay for kernel set-up.
  tf.tidy(() => model.model.predict(tf.zeros([1, cfg.size, cfg.size, 3])));
  log({ msg: "ready", model: cfg.model, load_ms: Date.now() - started, rss_mb: Math.round(process.memoryUsage().rss / 1048576) });

  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  log({ msg: "fatal", error: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
