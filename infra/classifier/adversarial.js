// Makes moderation/testdata/classifier/adversarial-explicit.png: a 224×224 image that depicts
// nothing (a grey-blue gradient pushed by a few steps of gradient ascent on the model's "Porn"
// class — an adversarial example) but that MobileNetV2 scores as explicit. The repository holds
// no explicit image; this one takes the same path through the service and the workflow as a real
// one. Each step saves the image, and it stops once the saved (integer) pixels score ≥ TARGET.
//
//   NODE_PATH=<node_modules of npm ci here> node infra/classifier/adversarial.js OUT.png
//
// Gradients need the cpu backend (the wasm backend has no conv2d backprop kernels): a step takes
// about a minute on an idle 2-core machine.
"use strict";

const tf = require("@tensorflow/tfjs");
const nsfwjs = require("nsfwjs");
const sharp = require("sharp");

const PORN = 3; // index in nsfwjs's NSFW_CLASSES
const TARGET = 0.97;
const STEP = 0.75; // pixel levels per step (of 255); larger steps oscillate between classes

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error("usage: node adversarial.js OUT.png");
  await tf.setBackend("cpu");
  await tf.ready();
  const model = await nsfwjs.load("MobileNetV2");
  const predict = (img) => model.model.predict(img.div(255).reshape([1, 224, 224, 3]));
  const objective = (img) => tf.log(predict(img).mul(tf.oneHot([PORN], 5)).sum().add(1e-9));
  const grad = tf.grad(objective);
  let x = tf.tidy(() => tf.linspace(40, 200, 224).reshape([1, 224, 1]).tile([224, 1, 3]).add(tf.tensor([0, 10, 30])));
  for (let i = 1; i <= 40; i++) {
    const next = tf.tidy(() => x.add(grad(x).sign().mul(STEP)).clipByValue(0, 255));
    x.dispose();
    x = next;
    // Judge and save the integer pixels a PNG holds.
    const pix = tf.tidy(() => x.round());
    const p = tf.tidy(() => predict(pix).dataSync());
    const data = Buffer.from(await pix.cast("int32").data());
    pix.dispose();
    await sharp(data, { raw: { width: 224, height: 224, channels: 3 } }).png({ compressionLevel: 9 }).toFile(out);
    console.log(`step ${i}: Porn ${(p[PORN] * 100).toFixed(1)}% (classes ${Array.from(p, (v) => (v * 100).toFixed(1)).join(" ")})`);
    if (p[PORN] >= TARGET) return;
  }
  throw new Error(`no image scored ≥ ${TARGET * 100}% after 40 steps`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
