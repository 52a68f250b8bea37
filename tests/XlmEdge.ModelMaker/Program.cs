using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

// usage: XlmEdge.ModelMaker FIXTURE_DIR OUT_DIR [emb_dim] [n_layers] [n_heads]
// Copies FIXTURE_DIR's vocabulary, merges and config, sets the geometry, and writes random weights
// (fp16-exact values, fixed seed) as model.safetensors. The model is meaningless; its shape is what counts.
if (args.Length is < 2 or > 5)
{
    Console.Error.WriteLine("usage: XlmEdge.ModelMaker FIXTURE_DIR OUT_DIR [emb_dim 512] [n_layers 2] [n_heads 8]");
    return 2;
}
string fixture = args[0], output = args[1];
int d = args.Length > 2 ? int.Parse(args[2]) : 512;
int layers = args.Length > 3 ? int.Parse(args[3]) : 2;
int heads = args.Length > 4 ? int.Parse(args[4]) : 8;
Directory.CreateDirectory(output);
foreach (var name in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
    File.Copy(Path.Combine(fixture, name), Path.Combine(output, name), overwrite: true);
var config = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "config.json")))!.AsObject();
config["emb_dim"] = d;
config["n_layers"] = layers;
config["n_heads"] = heads;
File.WriteAllText(Path.Combine(output, "config.json"), config.ToJsonString());
int vocab = (int)config["vocab_size"]!, positions = (int)config["max_position_embeddings"]!, langs = (int)config["n_langs"]!;

var random = new Random(20261130);
var tensors = new List<(string Name, long[] Shape, float Scale, float Offset)>
{
    ("transformer.position_embeddings.weight", [positions, d], 0.1f, 0),
    ("transformer.lang_embeddings.weight", [langs, d], 0.1f, 0),
    ("transformer.embeddings.weight", [vocab, d], 0.1f, 0),
    ("transformer.layer_norm_emb.weight", [d], 0.1f, 1),
    ("transformer.layer_norm_emb.bias", [d], 0.1f, 0),
};
for (int i = 0; i < layers; i++)
{
    foreach (var lin in new[] { "q_lin", "k_lin", "v_lin", "out_lin" })
    {
        tensors.Add(($"transformer.attentions.{i}.{lin}.weight", [d, d], 0.05f, 0));
        tensors.Add(($"transformer.attentions.{i}.{lin}.bias", [d], 0.05f, 0));
    }
    tensors.Add(($"transformer.layer_norm1.{i}.weight", [d], 0.1f, 1));
    tensors.Add(($"transformer.layer_norm1.{i}.bias", [d], 0.1f, 0));
    tensors.Add(($"transformer.ffns.{i}.lin1.weight", [4 * d, d], 0.05f, 0));
    tensors.Add(($"transformer.ffns.{i}.lin1.bias", [4 * d], 0.05f, 0));
    tensors.Add(($"transformer.ffns.{i}.lin2.weight", [d, 4 * d], 0.05f, 0));
    tensors.Add(($"transformer.ffns.{i}.lin2.bias", [d], 0.05f, 0));
    tensors.Add(($"transformer.layer_norm2.{i}.weight", [d], 0.1f, 1));
    tensors.Add(($"transformer.layer_norm2.{i}.bias", [d], 0.1f, 0));
}
tensors.Add(("pred_layer.proj.bias", [vocab], 0.1f, 0));

// safetensors: u64 header length, JSON header, then the F32 data back to back.
var header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
long offset = 0;
foreach (var (name, shape, _, _) in tensors)
{
    long bytes = 4 * shape.Aggregate(1L, (a, b) => a * b);
    header.Append($",\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(',', shape)}],\"data_offsets\":[{offset},{offset + bytes}]}}");
    offset += bytes;
}
header.Append('}');
while (header.Length % 8 != 0)
    header.Append(' ');
using var file = File.Create(Path.Combine(output, "model.safetensors"));
var length = new byte[8];
BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
file.Write(length);
file.Write(Encoding.UTF8.GetBytes(header.ToString()));
foreach (var (_, shape, scale, center) in tensors)
{
    var values = new byte[4 * shape.Aggregate(1L, (a, b) => a * b)];
    for (int i = 0; i < values.Length; i += 4)
        BinaryPrimitives.WriteSingleLittleEndian(values.AsSpan(i), (float)(Half)(center + scale * (2 * random.NextSingle() - 1)));
    file.Write(values);
}
Console.WriteLine($"{output}: random XLM checkpoint, vocab {vocab}, d {d}, {layers} layers, {heads} heads");
return 0;
