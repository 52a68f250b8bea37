// Prints a GGUF file's metadata and tensor table as JSON, read by @huggingface/gguf, the
// independent reader the XlmEdge tests compare our writer and reader with.
// Usage: node check.mjs FILE.gguf
import { gguf, GGMLQuantizationType } from "@huggingface/gguf";

const path = process.argv[2];
if (!path) {
  console.error("usage: node check.mjs FILE.gguf");
  process.exit(2);
}

const toJson = (v) => {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(toJson);
  return v;
};

const { typedMetadata, tensorInfos, tensorDataOffset } = await gguf(path, {
  allowLocalFile: true,
  typedMetadata: true,
});

const metadata = {};
for (const [key, entry] of Object.entries(typedMetadata)) {
  if (key === "version" || key === "tensor_count" || key === "kv_count") continue;
  metadata[key] = { type: entry.type, subType: entry.subType ?? null, value: toJson(entry.value) };
}

process.stdout.write(JSON.stringify({
  version: toJson(typedMetadata.version.value),
  tensorCount: toJson(typedMetadata.tensor_count.value),
  kvCount: toJson(typedMetadata.kv_count.value),
  tensorDataOffset: toJson(tensorDataOffset),
  metadata,
  tensors: tensorInfos.map((t) => ({
    name: t.name, shape: toJson(t.shape), dtype: t.dtype, dtypeName: GGMLQuantizationType[t.dtype] ?? null, offset: toJson(t.offset),
  })),
}) + "\n");
