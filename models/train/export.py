"""Stage 5: export a checkpoint to the shipped model directory (see ../FORMAT.md).

  model.onnx   int8 weights (per-column symmetric MatMulInteger) + fp16 embedding table
  tokenizer.json, config.json
and a numeric parity check of the ONNX graph against PyTorch (fp32 graph) and of the int8 graph (top-1 agreement).

Usage: export.py CHECKPOINT TOKENIZER_JSON OUT_DIR [--name NAME] [--fp32]
"""
import argparse, inspect, json, os, shutil, sys
import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper, TensorProto
from model import DiffusionLM, InferenceGraph
from tokenizer import BOS_ID, MASK_ID, PAD_ID

TOP_K = 4


def load_model(ckpt_path):
    ckpt = torch.load(ckpt_path, map_location='cpu')
    cfg = ckpt['config']
    model = DiffusionLM(cfg['vocab'], cfg['dim'], cfg['layers'], cfg['heads'], cfg['max_len'])
    model.load_state_dict(ckpt['model'])
    return model.eval(), ckpt.get('state', {})


def example_inputs(model, q_len=7, past_len=5, n_out=3):
    cfg = model.config
    L, H, hd = cfg['layers'], cfg['heads'], cfg['dim'] // cfg['heads']
    g = torch.Generator().manual_seed(0)
    return (torch.randint(3, cfg['vocab'], (1, q_len), generator=g),
            torch.arange(past_len, past_len + q_len).unsqueeze(0),
            torch.randn(L, 1, H, past_len, hd, generator=g) * 0.5,
            torch.randn(L, 1, H, past_len, hd, generator=g) * 0.5,
            torch.tensor([[0, 3, q_len - 1]])[:, :n_out])


INPUTS = ['input_ids', 'position_ids', 'past_keys', 'past_values', 'output_positions']
OUTPUTS = ['top_ids', 'top_probs', 'neg_entropy', 'present_keys', 'present_values']


def export_fp32(model, path):
    graph = InferenceGraph(model, TOP_K).eval()
    dynamic = {'input_ids': {0: 'batch', 1: 'q_len'}, 'position_ids': {0: 'batch', 1: 'q_len'},
               'past_keys': {1: 'batch', 3: 'past_len'}, 'past_values': {1: 'batch', 3: 'past_len'},
               'output_positions': {0: 'batch', 1: 'n_out'},
               'top_ids': {0: 'batch', 1: 'n_out'}, 'top_probs': {0: 'batch', 1: 'n_out'},
               'neg_entropy': {0: 'batch', 1: 'n_out'},
               'present_keys': {1: 'batch', 3: 'q_len'}, 'present_values': {1: 'batch', 3: 'q_len'}}
    # torch >= 2.9 defaults to the dynamo exporter; the TorchScript one gives the graph quantize_int8 expects
    legacy = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(graph, example_inputs(model), path, input_names=INPUTS, output_names=OUTPUTS,
                          dynamic_axes=dynamic, opset_version=17, do_constant_folding=True, **legacy)


def quantize_int8(src, dst):
    """MatMul(X, W const) -> DynamicQuantizeLinear(X) + MatMulInteger(Xq, Wq) * (x_scale * w_scale) — the
    graph ORT's dynamic quantization produces — with per-column symmetric int8 weights. The embedding table
    (a Gather) is stored as fp16 plus a Cast."""
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    new_nodes, drop = [], set()
    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type == 'MatMul' and len(node.input) == 2 else None
        if w is None or len(w.dims) != 2:
            new_nodes.append(node)
            continue
        W = numpy_helper.to_array(w).astype(np.float32)
        scale = np.maximum(np.abs(W).max(axis=0), 1e-8) / 127.0
        Wq = np.clip(np.round(W / scale), -127, 127).astype(np.int8)
        base = node.output[0] + '_q'
        g.initializer.extend([numpy_helper.from_array(Wq, w.name + '_int8'),
                              numpy_helper.from_array(scale.astype(np.float32), w.name + '_scale'),
                              numpy_helper.from_array(np.array(0, dtype=np.int8), w.name + '_zero')])
        drop.add(w.name)
        new_nodes += [
            helper.make_node('DynamicQuantizeLinear', [node.input[0]], [base + '_x', base + '_xs', base + '_xz']),
            helper.make_node('MatMulInteger', [base + '_x', w.name + '_int8', base + '_xz', w.name + '_zero'], [base + '_i32']),
            helper.make_node('Cast', [base + '_i32'], [base + '_f'], to=TensorProto.FLOAT),
            helper.make_node('Mul', [base + '_xs', w.name + '_scale'], [base + '_s']),
            helper.make_node('Mul', [base + '_f', base + '_s'], node.output),
        ]
    for node in new_nodes:  # embedding table: fp16 storage
        if node.op_type == 'Gather' and node.input[0] in inits and len(inits[node.input[0]].dims) == 2:
            t = inits[node.input[0]]
            if t.data_type == TensorProto.FLOAT and t.dims[0] > 1000:
                g.initializer.append(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name + '_fp16'))
                cast = helper.make_node('Cast', [t.name + '_fp16'], [t.name + '_from_fp16'], to=TensorProto.FLOAT)
                new_nodes.insert(0, cast)
                node.input[0] = t.name + '_from_fp16'
                drop.add(t.name)
    still_used = {i for n in new_nodes for i in n.input}
    kept = [i for i in g.initializer if i.name not in drop or i.name in still_used]
    del g.initializer[:]
    g.initializer.extend(kept)
    del g.node[:]
    g.node.extend(new_nodes)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


PARITY_TEXT = (
    "export function debounce(fn, wait) {\n  let timer = null;\n  return (...args) => {\n"
    "    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), wait);\n  };\n}\n")


@torch.no_grad()
def write_parity_fixture(model, tokenizer_json, path):
    """PyTorch outputs for two passes (full canvas, then a cached block pass) that parity.mjs replays in ORT."""
    from tokenizer import Encoder
    ids = [BOS_ID] + Encoder(tokenizer_json).encode(PARITY_TEXT)
    ids = [i % model.config['vocab'] for i in ids]
    x = torch.tensor([ids])
    x[0, 10:18] = MASK_ID
    T = x.shape[1]
    graph = InferenceGraph(model, TOP_K).eval()
    L, H, hd = model.config['layers'], model.config['heads'], model.config['dim'] // model.config['heads']
    empty = torch.zeros(L, 1, H, 0, hd)
    out_pos = torch.arange(T).unsqueeze(0)
    full = graph(x, torch.arange(T).unsqueeze(0), empty, empty, out_pos)
    # dual-cache pass: query = positions 8..16, past = everything else from the full pass
    s, e = 8, 16
    keep = [i for i in range(T) if not s <= i < e]
    past_k, past_v = full[3][:, :, :, keep], full[4][:, :, :, keep]
    block = graph(x[:, s:e], torch.arange(s, e).unsqueeze(0), past_k, past_v, torch.arange(e - s).unsqueeze(0))
    cases = []
    for name, inp, out in (('full', (x, torch.arange(T).unsqueeze(0), empty, empty, out_pos), full),
                           ('dual_cache_block', (x[:, s:e], torch.arange(s, e).unsqueeze(0), past_k, past_v,
                                                 torch.arange(e - s).unsqueeze(0)), block)):
        cases.append({'name': name,
                      'inputs': {k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in zip(INPUTS, inp)},
                      'outputs': {k: {'shape': list(v.shape), 'data': v.flatten().tolist()}
                                  for k, v in zip(OUTPUTS[:3], out[:3])}})
    json.dump({'cases': cases}, open(path, 'w'))


def write_config(model, out_dir, name, state):
    """Format 1 for masked diffusion; format 2 with block-causal attention for block diffusion (train.py OBJECTIVE=bd),
    whose blocks are fixed by training."""
    cfg = model.config
    config = {
        'name': name, 'format_version': 1, 'vocab_size': cfg['vocab'], 'mask_token_id': MASK_ID,
        'pad_token_id': PAD_ID, 'bos_token_id': BOS_ID, 'logit_shift': 0, 'block_size': 32, 'max_length': 512,
        'top_k': TOP_K, 'n_layers': cfg['layers'], 'n_heads': cfg['heads'], 'head_dim': cfg['dim'] // cfg['heads'],
        'kv_cache': True, 'languages': ['javascript', 'typescript', 'python'],
    }
    if state.get('objective') == 'bd':
        config.update({'format_version': 2, 'attention': 'block-causal', 'block_size': state['block'],
                       'end_token_ids': [PAD_ID], 'precision': 'int8', 'kv_dtype': 'float32', 'family': 'dllm-code',
                       'n_params': sum(p.numel() for p in model.parameters()), 'objective': f"block diffusion, blocks of {state['block']}"})
    json.dump(config, open(os.path.join(out_dir, 'config.json'), 'w'), indent=2)


def save_resumable_fp16(ckpt_path, dst):
    """Model weights and AdamW moments in fp16: what a later session needs to continue pretraining."""
    ckpt = torch.load(ckpt_path, map_location='cpu')
    half = lambda t: t.half() if torch.is_tensor(t) and t.is_floating_point() else t
    ckpt['model'] = {k: half(v) for k, v in ckpt['model'].items()}
    for st in ckpt['opt']['state'].values():
        for k in list(st):
            if k != 'step':
                st[k] = half(st[k])
    torch.save(ckpt, dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('checkpoint')
    ap.add_argument('tokenizer')
    ap.add_argument('out_dir')
    ap.add_argument('--name', default='dllm-code-small')
    ap.add_argument('--fp32', action='store_true', help='ship the fp32 graph instead of int8')
    ap.add_argument('--resumable', help='also write an fp16 resumable copy of the checkpoint here')
    args = ap.parse_args()
    if args.resumable:
        save_resumable_fp16(args.checkpoint, args.resumable)
    model, state = load_model(args.checkpoint)
    os.makedirs(args.out_dir, exist_ok=True)
    fp32_path = os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), 'model.fp32.onnx')
    export_fp32(model, fp32_path)
    final = os.path.join(args.out_dir, 'model.onnx')
    if args.fp32:
        shutil.copy(fp32_path, final)
    else:
        quantize_int8(fp32_path, final)
    shutil.copy(args.tokenizer, os.path.join(args.out_dir, 'tokenizer.json'))
    parity = os.path.join(os.path.dirname(fp32_path), 'parity.json')
    write_parity_fixture(model, args.tokenizer, parity)
    write_config(model, args.out_dir, args.name, state)
    print(json.dumps({'exported': final, 'bytes': os.path.getsize(final), 'fp32_reference': fp32_path, 'parity_fixture': parity,
                      'trained_tokens': state.get('tokens'), 'steps': state.get('step')}))


if __name__ == '__main__':
    main()
