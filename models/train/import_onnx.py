"""Rebuild a PyTorch checkpoint from a shipped model directory (model.onnx + config.json), so that a new round of
fine-tuning can start from the shipped weights when their training checkpoint is gone (checkpoints stay out of git).

Matrices are stored int8 per column with a float scale (export.quantize_int8): dequantized as int8 × scale, they
re-quantize to the very same int8 values, so import → export gives back the shipped weights (the output head, tied
to the fp16 embedding table as in training, within one int8 step). There is no optimizer state: a fine-tune
starts its own.

Usage: import_onnx.py MODEL_DIR OUT_CHECKPOINT
"""
import json, os, re, sys
import numpy as np
import onnx
import torch
from onnx import numpy_helper
from model import DiffusionLM

# Exported names carry the torch module: MatMulInteger inputs '/blocks.3/fc1/MatMul_output_0_q_x', LayerNormalization
# nodes '/blocks.3/ln2/LayerNormalization'. Equal initializers are stored once, the copies made by Identity nodes.
QUANTIZED_INPUT = re.compile(r'^/(blocks\.\d+/(?:qkv|proj|fc1|fc2))/MatMul_output_0_q_x$')
LAYER_NORM = re.compile(r'^/((?:blocks\.\d+/)?ln\w*)/LayerNormalization$')


def state_from_onnx(onnx_path):
    """torch parameter name -> tensor, read from an exported (int8) model.onnx."""
    graph = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == 'Identity' and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
    tensor = lambda a: torch.tensor(np.asarray(a, dtype=np.float32))
    state = {}
    for node in graph.node:
        if node.op_type == 'MatMulInteger' and (match := QUANTIZED_INPUT.match(node.input[0])):
            module = match.group(1).replace('/', '.')
            scale = inits[node.input[1][:-len('_int8')] + '_scale']
            state[module + '.weight'] = tensor((inits[node.input[1]].astype(np.float32) * scale).T)  # stored [in, out]
        elif node.op_type == 'LayerNormalization' and (match := LAYER_NORM.match(node.name)):
            module = match.group(1).replace('/', '.')
            state[module + '.weight'], state[module + '.bias'] = tensor(inits[node.input[1]]), tensor(inits[node.input[2]])
    # the output head (the last MatMulInteger) is tied to the embedding
    table = inits.get('model.emb.weight_fp16', inits.get('model.emb.weight'))  # fp16 once the vocabulary is large
    state['emb.weight'] = tensor(table)
    return state


def import_model(model_dir, out_path):
    config = json.load(open(os.path.join(model_dir, 'config.json')))
    dim = config['n_heads'] * config['head_dim']
    model = DiffusionLM(config['vocab_size'], dim, config['n_layers'], config['n_heads'], config['max_length'])
    missing, unexpected = model.load_state_dict(state_from_onnx(os.path.join(model_dir, 'model.onnx')), strict=False)
    missing = [m for m in missing if m not in ('cos', 'sin')]
    if missing or unexpected:
        raise SystemExit(f'{model_dir}/model.onnx does not match the architecture: missing {missing}, unexpected {unexpected}')
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    torch.save({'model': model.state_dict(), 'state': {'imported_from': os.path.abspath(model_dir)}, 'config': model.config},
               out_path)
    print(json.dumps({'checkpoint': out_path, 'parameters': sum(p.numel() for p in model.parameters())}))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    import_model(sys.argv[1], sys.argv[2])
