// Run face-api.js's FaceExpressionNet on raw RGB images with TF.js's pure-JavaScript CPU backend,
// to record reference outputs for the PyTorch port (scripts/record_faceapi_reference.py runs it).
//   node faceapi_reference.js MODEL_DIR CASES.json  ->  JSON on stdout
// CASES.json: [{"name", "height", "width", "file"}], each file height*width*3 bytes (RGB).
const fs = require("fs");
const faceapi = require("@vladmandic/face-api/dist/face-api.node-wasm.js");

async function main() {
  const [modelDir, casesFile] = process.argv.slice(2);
  const tf = faceapi.tf;
  await tf.setBackend("cpu");
  await tf.ready();
  const manifest = JSON.parse(fs.readFileSync(`${modelDir}/face_expression_model-weights_manifest.json`));
  const shard = fs.readFileSync(`${modelDir}/${manifest[0].paths[0]}`);
  const weights = tf.io.decodeWeights(new Uint8Array(shard).buffer, manifest[0].weights);
  faceapi.nets.faceExpressionNet.loadFromWeightMap(weights);
  const out = {library: `@vladmandic/face-api ${faceapi.version}`, tfjs: tf.version.tfjs, backend: tf.getBackend(), cases: []};
  for (const c of JSON.parse(fs.readFileSync(casesFile))) {
    const pixels = Int32Array.from(fs.readFileSync(c.file));  // one byte a channel
    const image = tf.tensor3d(pixels, [c.height, c.width, 3], "int32");
    const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(image);
    out.cases.push({name: c.name, expressions});
    image.dispose();
  }
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
}
main();
