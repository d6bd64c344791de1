"""Convert a Hugging Face diffusion-LM checkpoint into a model directory the engine runs (../FORMAT.md, format 2).

  /usr/bin/python3 models/convert/from_hf.py --checkpoint DIR --out DIR [--precision fp32|fp16|int8|int4]
      [--attention bidirectional|block-causal] [--block-size N] [--logit-shift 0|1] [--mask-token-id ID]

Reads config.json, model.safetensors (or sharded model-*.safetensors + model.safetensors.index.json),
tokenizer.json, tokenizer_config.json and generation_config.json. Needs torch, numpy and onnx only.

Steps, top to bottom:
  1. read the checkpoint (safetensors parsed by hand: JSON header + little-endian buffers; bf16 widened to fp32)
  2. map the family's parameter names (Qwen2 / Dream, Qwen3 / SDAR, Llama, LLaDA) onto one decoder description
  3. decide attention kind, block size, logit shift, mask / end / pad / bos ids (config > tokenizer > family
     table; the flags override) and print each decision with its reason
  4. a PyTorch reference forward written from the families' modelling files (RMSNorm in fp32, rotate-half RoPE,
     grouped-query attention, SiLU-gated MLP, tied or separate head, padded vocabulary rows masked to -inf)
  5. the ONNX graph, written node by node at the requested precision (fp32, fp16, int8 MatMulInteger, int4
     MatMulNBits), with FORMAT.md's inputs and outputs
  6. self_check.json (inputs + the reference forward's top-k), a quantisation check against fp32, config.json,
     MODEL_CARD.md
"""
import argparse, glob, json, math, os, re, shutil, sys, time, warnings
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

TOP_K = 4
# the reference forward reads memory-mapped (read-only) weights without copying them; it never writes to them
warnings.filterwarnings('ignore', message='The given NumPy array is not writable')

# ----------------------------------------------------------------------------------------------------------------
# 1. Reading the checkpoint

SAFETENSORS_DTYPES = {'F32': np.float32, 'F16': np.float16, 'BF16': np.uint16, 'F64': np.float64,
                      'I64': np.int64, 'I32': np.int32, 'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_}


def read_safetensors(path):
    """{name: float32 numpy array}. Layout: u64 header length, JSON header {name: {dtype, shape, data_offsets}},
    then the raw little-endian tensor bytes."""
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode='r', offset=8 + n)
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        start, end = info['data_offsets']
        raw = np.frombuffer(data[start:end], dtype=SAFETENSORS_DTYPES[info['dtype']]).reshape(info['shape'])
        if info['dtype'] == 'BF16':  # bf16 is the top half of an fp32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = np.asarray(raw, dtype=np.float32) if raw.dtype.kind == 'f' else np.array(raw)
    return tensors


def read_checkpoint(ckpt):
    index = os.path.join(ckpt, 'model.safetensors.index.json')
    if os.path.exists(index):
        files = sorted(set(read_json(ckpt, 'model.safetensors.index.json')['weight_map'].values()))
    elif os.path.exists(os.path.join(ckpt, 'model.safetensors')):
        files = ['model.safetensors']
    else:
        files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ckpt, '*.safetensors')))
    if not files:
        sys.exit(f'from_hf: no safetensors weights in {ckpt} (PyTorch .bin checkpoints are not read)')
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(ckpt, name)))
    return weights, files


def read_json(ckpt, name):
    path = os.path.join(ckpt, name)
    if not os.path.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def write_json(path, value, indent=None):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=indent)


# ----------------------------------------------------------------------------------------------------------------
# 2. One decoder description for every family

def detect_layout(weights):
    if any(k.startswith('model.transformer.blocks.') for k in weights):
        return 'llada'
    if 'model.layers.0.self_attn.q_norm.weight' in weights:
        return 'qwen3'
    if 'model.layers.0.self_attn.q_proj.bias' in weights:
        return 'qwen2'
    if 'model.layers.0.self_attn.q_proj.weight' in weights:
        return 'llama'
    sys.exit('from_hf: unknown parameter layout (expected model.layers.N.self_attn.* or model.transformer.blocks.N.*)')


def rope_inv_freq(theta, head_dim, scaling, max_pos):
    """Inverse frequencies and the cos/sin factor, as transformers' ROPE_INIT_FUNCTIONS compute them for the
    types supported here (default, linear, llama3, yarn)."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    kind = (scaling or {}).get('rope_type', (scaling or {}).get('type', 'default'))
    if kind == 'default':
        return inv, 1.0
    factor = float(scaling['factor'])
    if kind == 'linear':
        return inv / factor, 1.0
    if kind == 'llama3':
        low, high = scaling.get('low_freq_factor', 1.0), scaling.get('high_freq_factor', 4.0)
        old = scaling.get('original_max_position_embeddings', 8192)
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        mid = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= old / high) & (wavelen <= old / low)
        return torch.where(medium, mid, scaled), 1.0
    if kind == 'yarn':
        old = scaling.get('original_max_position_embeddings', max_pos)
        beta_fast, beta_slow = scaling.get('beta_fast', 32), scaling.get('beta_slow', 1)
        mscale = scaling.get('attention_factor') or (0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0)
        dim_of = lambda rot: (head_dim * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(theta))
        low, high = max(math.floor(dim_of(beta_fast)), 0), min(math.ceil(dim_of(beta_slow)), head_dim - 1)
        ramp = ((torch.arange(head_dim // 2).float() - low) / max(high - low, 1e-3)).clamp(0, 1)
        extrapolation = 1 - ramp
        return inv / factor * (1 - extrapolation) + inv * extrapolation, float(mscale)
    sys.exit(f'from_hf: rope scaling type {kind!r} is not supported (default, linear, llama3, yarn are)')


def describe(cfg, weights):
    """arch: the sizes and options; layers: per-layer tensors under family-independent names."""
    layout = detect_layout(weights)
    if layout == 'llada':
        return describe_llada(cfg, weights)
    D, H = cfg['hidden_size'], cfg['num_attention_heads']
    hd = cfg.get('head_dim') or D // H
    theta = cfg.get('rope_theta') or (cfg.get('rope_parameters') or {}).get('rope_theta', 10000.0)
    arch = dict(layout=layout, n_layers=cfg['num_hidden_layers'], dim=D, n_heads=H,
                n_kv_heads=cfg.get('num_key_value_heads') or H, head_dim=hd, eps=cfg.get('rms_norm_eps', 1e-6),
                act=cfg.get('hidden_act', 'silu'), qk_norm='head' if layout == 'qwen3' else 'none',
                max_pos=cfg.get('max_position_embeddings', 4096), emb_scale=1.0, logit_scale=1.0)
    scaling = cfg.get('rope_scaling') or ({k: v for k, v in cfg['rope_parameters'].items() if k != 'rope_theta'}
                                          if cfg.get('rope_parameters') else None)
    arch['inv_freq'], arch['rope_factor'] = rope_inv_freq(theta, hd, scaling, arch['max_pos'])
    arch['rope'] = dict(theta=theta, scaling=scaling)
    names = dict(attn_norm='input_layernorm', q='self_attn.q_proj', k='self_attn.k_proj', v='self_attn.v_proj',
                 o='self_attn.o_proj', q_norm='self_attn.q_norm', k_norm='self_attn.k_norm',
                 mlp_norm='post_attention_layernorm', gate='mlp.gate_proj', up='mlp.up_proj', down='mlp.down_proj')
    layers = [collect(weights, f'model.layers.{i}.', names) for i in range(arch['n_layers'])]
    embed = weights['model.embed_tokens.weight']
    head = weights.get('lm_head.weight')
    arch['tied'] = head is None
    top = dict(embed=embed, head=embed if head is None else head, final_norm=weights['model.norm.weight'])
    return arch, top, layers


def describe_llada(cfg, weights):
    """LLaDA's own modelling file (modeling_llada.py, block_type "llama"): attn_norm, q/k/v_proj, attn_out,
    ff_norm, ff_proj (activated) * up_proj, ff_out; transformer.wte / ln_f / ff_out (when not weight_tying)."""
    if cfg.get('block_type', 'llama') != 'llama':
        sys.exit(f"from_hf: LLaDA block_type {cfg.get('block_type')!r} is not supported (only 'llama')")
    if cfg.get('alibi') or not cfg.get('rope', True):
        sys.exit('from_hf: LLaDA checkpoints without RoPE (alibi / learned positions) are not supported')
    norm = cfg.get('layer_norm_type', 'rms')
    if norm not in ('rms', 'gemma_rms'):
        sys.exit(f'from_hf: LLaDA layer_norm_type {norm!r} is not supported (rms, gemma_rms are)')
    D, H = cfg['d_model'], cfg['n_heads']
    KV = cfg.get('n_kv_heads') or (1 if cfg.get('multi_query_attention') else H)
    act = cfg.get('activation_type', 'silu')
    if act not in ('silu', 'gelu', 'relu'):
        sys.exit(f'from_hf: LLaDA activation {act!r} with the llama block is not supported')
    arch = dict(layout='llada', n_layers=cfg['n_layers'], dim=D, n_heads=H, n_kv_heads=KV, head_dim=D // H,
                eps=cfg.get('rms_norm_eps', 1e-5), act=act,
                qk_norm='full' if cfg.get('attention_layer_norm') else 'none',
                max_pos=cfg.get('max_sequence_length', 4096),
                emb_scale=D ** 0.5 if cfg.get('input_emb_norm') else 1.0,
                logit_scale=1 / math.sqrt(D) if cfg.get('scale_logits') else 1.0)
    theta = cfg.get('rope_theta', 10000.0)
    arch['inv_freq'], arch['rope_factor'] = rope_inv_freq(theta, D // H, None, arch['max_pos'])
    arch['rope'] = dict(theta=theta, scaling=None)
    names = dict(attn_norm='attn_norm', q='q_proj', k='k_proj', v='v_proj', o='attn_out', q_norm='q_norm',
                 k_norm='k_norm', mlp_norm='ff_norm', gate='ff_proj', up='up_proj', down='ff_out')
    layers = [collect(weights, f'model.transformer.blocks.{i}.', names) for i in range(arch['n_layers'])]
    if norm == 'gemma_rms':  # x * (1 + w): fold the 1 into the weight
        for layer in layers:
            for key in ('attn_norm', 'mlp_norm', 'q_norm', 'k_norm'):
                if key in layer:
                    layer[key] = layer[key] + 1.0
    embed = weights['model.transformer.wte.weight']
    tied = cfg.get('weight_tying', 'model.transformer.ff_out.weight' not in weights)
    arch['tied'] = tied
    final_norm = weights['model.transformer.ln_f.weight'] + (1.0 if norm == 'gemma_rms' else 0.0)
    top = dict(embed=embed, head=embed if tied else weights['model.transformer.ff_out.weight'], final_norm=final_norm)
    if 'model.transformer.ln_f.bias' in weights:
        top['final_norm_bias'] = weights['model.transformer.ln_f.bias']
    return arch, top, layers


def collect(weights, prefix, names):
    """Per-layer tensors: linear weights [out, in] and their optional biases (key + '_bias'), norm weights."""
    layer = {}
    for key, name in names.items():
        if prefix + name + '.weight' in weights:
            layer[key] = weights[prefix + name + '.weight']
        if prefix + name + '.bias' in weights:
            layer[key + '_bias'] = weights[prefix + name + '.bias']
    missing = [k for k in ('attn_norm', 'q', 'k', 'v', 'o', 'mlp_norm', 'gate', 'up', 'down') if k not in layer]
    if missing:
        sys.exit(f'from_hf: {prefix}* lacks {", ".join(missing)}')
    return layer


# ----------------------------------------------------------------------------------------------------------------
# 3. Decisions: attention kind, block size, logit shift, ids

# Known checkpoints (../../shared/research/open-dllms.md), matched against the folder name, the config's
# _name_or_path, model_type and architectures. First match wins.
KNOWN = [
    (r'bd3lm', dict(family='tiny-a2d-bd3lm', attention='block-causal', block_size=32, logit_shift=0, license='apache-2.0')),
    (r'mdlm', dict(family='tiny-a2d-mdlm', attention='bidirectional', block_size=32, logit_shift=0, license='apache-2.0')),
    (r'open-dcoder', dict(family='open-dcoder', attention='bidirectional', block_size=32, logit_shift=1, max_length=4096, license='apache-2.0')),
    (r'fast[_-]?dllm', dict(family='fast-dllm-v2', attention='block-causal', block_size=32, logit_shift=1, mask='151665', license='apache-2.0')),
    (r'trado', dict(family='trado', attention='block-causal', block_size=4, logit_shift=0, mask='151669', license='apache-2.0')),
    (r'sdar', dict(family='sdar', attention='block-causal', block_size=4, logit_shift=0, mask='151669', license='mit')),
    (r'coda', dict(family='coda', attention='bidirectional', block_size=32, logit_shift=1, mask='151669', license='cc-by-nc-4.0')),
    (r'dreamon', dict(family='dreamon', attention='bidirectional', block_size=32, logit_shift=1, mask='151666', max_length=2048, license='apache-2.0')),
    (r'dream-coder', dict(family='dream-coder', attention='bidirectional', block_size=32, logit_shift=1, mask='151666', license='apache-2.0')),
    (r'diffucoder', dict(family='diffucoder', attention='bidirectional', block_size=32, logit_shift=1, license='apple-sample-code (see the checkpoint)')),
    (r'dream', dict(family='dream', attention='bidirectional', block_size=32, logit_shift=1, mask='151666', max_length=2048)),
    (r'stable-diffcoder', dict(family='stable-diffcoder', attention='block-causal', block_size=4, logit_shift=0, license='mit')),
    (r'llada', dict(family='llada', attention='bidirectional', block_size=32, logit_shift=0, mask='126336')),
]
MASK_TOKEN_NAMES = ['<|mask|>', '<|mdm_mask|>', '[MASK]', '<mask>', '<|MASK|>']
END_TOKEN_NAMES = ['<|endoftext|>', '<|im_end|>', '<|eot_id|>', '<|end_of_text|>', '<|dlm_pad|>', '<|eot|>', '<|EOT|>',
                   '<|end|>', '</s>', '<eos>']


def tokenizer_ids(tok):
    """{token string: id} over the BPE vocabulary and the added tokens; the set of special added tokens."""
    vocab = dict((tok.get('model') or {}).get('vocab') or {})
    special = []
    for t in tok.get('added_tokens', []):
        vocab[t['content']] = t['id']
        if t.get('special'):
            special.append(t['content'])
    return vocab, special


def as_list(v):
    return [] if v is None else list(v) if isinstance(v, (list, tuple)) else [v]


def decide(args, cfg, gen, tok, tok_cfg, arch):
    """Each decision with its source, printed; the flags win, then the checkpoint's own files, then KNOWN."""
    decisions = {}
    say = lambda key, value, why: decisions.__setitem__(key, (value, why))
    hints = ' '.join(str(x) for x in [os.path.basename(os.path.abspath(args.checkpoint)), cfg.get('_name_or_path', ''),
                                      cfg.get('model_type', ''), *as_list(cfg.get('architectures'))]).lower()
    known, pattern = {}, None
    for pat, entry in KNOWN:
        if re.search(pat, hints):
            known, pattern = entry, pat
            break
    table = f'known-family table ({pattern!r} in {hints.strip()!r})'
    vocab, special = tokenizer_ids(tok)

    family = known.get('family') or {'llada': 'llada', 'qwen3': 'qwen3', 'qwen2': 'qwen2', 'llama': 'llama'}[arch['layout']]
    say('family', family, table if known else f'parameter layout ({arch["layout"]})')

    if args.attention:
        say('attention', args.attention, '--attention')
    elif cfg.get('is_causal') is False or cfg.get('causal') is False:
        say('attention', 'bidirectional', 'config.json is_causal=false')
    elif known.get('attention'):
        say('attention', known['attention'], table)
    else:
        say('attention', 'bidirectional', 'no hint in the checkpoint: assumed (override with --attention)')

    config_block = cfg.get('block_size') or cfg.get('bd_size') or gen.get('block_length') or gen.get('block_size')
    if args.block_size:
        say('block_size', args.block_size, '--block-size')
    elif isinstance(config_block, int):
        say('block_size', config_block, 'config.json / generation_config.json')
    elif known.get('block_size'):
        say('block_size', known['block_size'], table)
    else:
        say('block_size', 32, 'default')

    if args.logit_shift is not None:
        say('logit_shift', args.logit_shift, '--logit-shift')
    elif 'right_shift_logits' in cfg:
        say('logit_shift', int(bool(cfg['right_shift_logits'])), 'config.json right_shift_logits')
    elif 'logit_shift' in known:
        say('logit_shift', known['logit_shift'], table)
    else:
        say('logit_shift', 0, 'no hint in the checkpoint: assumed unshifted (override with --logit-shift)')

    named_mask = next((vocab[n] for n in MASK_TOKEN_NAMES if n in vocab), None)
    if args.mask_token_id is not None:
        say('mask_token_id', args.mask_token_id, '--mask-token-id')
    elif isinstance(cfg.get('mask_token_id'), int):
        say('mask_token_id', cfg['mask_token_id'], 'config.json mask_token_id')
    elif isinstance(gen.get('mask_token_id'), int):
        say('mask_token_id', gen['mask_token_id'], 'generation_config.json mask_token_id')
    elif named_mask is not None:
        say('mask_token_id', named_mask, 'tokenizer.json mask token')
    elif known.get('mask'):
        say('mask_token_id', int(known['mask']), table)
    else:
        sys.exit('from_hf: no mask token found (config, tokenizer or family table): pass --mask-token-id')
    mask = decisions['mask_token_id'][0]

    ends = []
    for source, ids in (('config.json eos_token_id', as_list(cfg.get('eos_token_id'))),
                        ('generation_config.json eos_token_id', as_list(gen.get('eos_token_id'))),
                        ('config.json pad_token_id', as_list(cfg.get('pad_token_id'))),
                        ('tokenizer end tokens', [vocab[n] for n in END_TOKEN_NAMES if n in vocab])):
        ends += [i for i in ids if isinstance(i, int) and i not in ends and i != mask]
    pad = cfg.get('pad_token_id') if isinstance(cfg.get('pad_token_id'), int) and cfg.get('pad_token_id') != mask else None
    pad = pad if pad is not None else gen.get('pad_token_id') if isinstance(gen.get('pad_token_id'), int) else None
    pad = pad if pad is not None else (ends[0] if ends else None)
    if pad is None:
        sys.exit('from_hf: no end / pad token found in config.json, generation_config.json or tokenizer.json')
    if pad not in ends:
        ends.insert(0, pad)
    say('end_token_ids', ends, 'eos/pad ids of config.json, generation_config.json and the tokenizer\'s end tokens')
    say('pad_token_id', pad, 'config.json pad_token_id, else the first end id')

    bos_name = tok_cfg.get('bos_token')
    bos_name = bos_name.get('content') if isinstance(bos_name, dict) else bos_name
    bos = vocab.get(bos_name) if bos_name else None
    if bos is not None and (bos in ends or bos == mask):
        bos = None
    say('bos_token_id', bos, f'tokenizer_config.json bos_token {bos_name!r}' if bos is not None
        else 'tokenizer_config.json names no BOS distinct from the end ids: none')

    max_length = known.get('max_length') or arch['max_pos']
    say('max_length', max_length, table if known.get('max_length') else 'config.json max position embeddings')
    say('license', license_of(args.checkpoint, known), 'checkpoint README.md front matter, else the family table')
    decisions['special_tokens'] = (special, 'tokenizer.json added tokens marked special')
    return {k: v for k, (v, _) in decisions.items()}, decisions


def license_of(ckpt, known):
    readme = os.path.join(ckpt, 'README.md')
    if os.path.exists(readme):
        with open(readme, encoding='utf-8', errors='replace') as f:
            m = re.match(r'---\n(.*?)\n---', f.read(), re.S)
        lic = m and re.search(r'^license:\s*(\S+)', m.group(1), re.M)
        if lic:
            return lic.group(1)
    return known.get('license', 'unknown (check the checkpoint\'s model card)')


# ----------------------------------------------------------------------------------------------------------------
# 4. Reference forward in PyTorch (what the ONNX graph must compute)

def rms_norm(x, w, eps, bias=None):
    x32 = x.float()
    y = (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w
    return y if bias is None else y + bias


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


ACT = {'silu': F.silu, 'gelu': lambda x: F.gelu(x), 'gelu_pytorch_tanh': lambda x: F.gelu(x, approximate='tanh'), 'relu': F.relu}


class Reference:
    """Weights as torch tensors; forward() implements FORMAT.md's graph contract. `linear` is swappable so the
    quantised variants are checked with the same code."""

    def __init__(self, arch, top, layers, n_valid):
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # shares memory, no copy
        self.arch, self.n_valid = arch, n_valid
        self.top = {k: t(v) for k, v in top.items()}
        self.layers = [{k: t(v) for k, v in layer.items()} for layer in layers]
        self.activation_quant = self.head_activation_quant = False

    def linear(self, x, layer, key):
        if self.activation_quant:
            x = fake_quant_activation(x)
        y = x @ layer[key].T
        return y + layer[key + '_bias'] if key + '_bias' in layer else y

    @torch.no_grad()
    def forward(self, input_ids, position_ids, past_keys, past_values, output_positions, top_k=TOP_K):
        a = self.arch
        B, T = input_ids.shape
        H, KV, hd, eps = a['n_heads'], a['n_kv_heads'], a['head_dim'], a['eps']
        x = self.top['embed'][input_ids] * a['emb_scale']
        freqs = position_ids.float()[..., None] * a['inv_freq']
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = (emb.cos() * a['rope_factor'])[:, None], (emb.sin() * a['rope_factor'])[:, None]
        keys, values = [], []
        for i, L in enumerate(self.layers):
            h = rms_norm(x, L['attn_norm'], eps, L.get('attn_norm_bias'))
            q, k, v = self.linear(h, L, 'q'), self.linear(h, L, 'k'), self.linear(h, L, 'v')
            if a['qk_norm'] == 'full':  # LLaDA attention_layer_norm: over the whole projection
                q, k = rms_norm(q, L['q_norm'], eps), rms_norm(k, L['k_norm'], eps)
            q, k, v = (z.view(B, T, -1, hd) for z in (q, k, v))
            if a['qk_norm'] == 'head':  # Qwen3: per head
                q, k = rms_norm(q, L['q_norm'], eps), rms_norm(k, L['k_norm'], eps)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            keys.append(k)
            values.append(v)
            all_k = torch.cat([past_keys[i].float(), k], dim=2).repeat_interleave(H // KV, dim=1)
            all_v = torch.cat([past_values[i].float(), v], dim=2).repeat_interleave(H // KV, dim=1)
            att = torch.softmax(q @ all_k.transpose(-1, -2) / math.sqrt(hd), dim=-1) @ all_v
            x = x + self.linear(att.transpose(1, 2).reshape(B, T, H * hd), L, 'o')
            h = rms_norm(x, L['mlp_norm'], eps, L.get('mlp_norm_bias'))
            x = x + self.linear(ACT[a['act']](self.linear(h, L, 'gate')) * self.linear(h, L, 'up'), L, 'down')
        rows = torch.gather(x, 1, output_positions[..., None].expand(-1, -1, x.shape[-1]))
        rows = rms_norm(rows, self.top['final_norm'], eps, self.top.get('final_norm_bias'))
        if self.activation_quant or self.head_activation_quant:
            rows = fake_quant_activation(rows)
        logits = (rows @ self.top['head'].T) * a['logit_scale']
        logits[..., self.n_valid:] = float('-inf')  # embedding rows beyond the tokenizer: never predicted
        logp = torch.log_softmax(logits, dim=-1)
        probs = logp.exp()
        top_probs, top_ids = probs.topk(top_k, dim=-1)
        neg_entropy = torch.where(probs > 0, probs * logp, torch.zeros_like(probs)).sum(-1)
        return top_ids, top_probs, neg_entropy, torch.stack(keys), torch.stack(values)


def fake_quant_activation(x):
    """What DynamicQuantizeLinear does to a MatMulInteger input: per-tensor uint8 with a zero point."""
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255 or 1.0
    zero = float(np.clip(np.round(-lo / scale), 0, 255))
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


# ----------------------------------------------------------------------------------------------------------------
# 5. Quantisation of one weight matrix (shared by the graph and the check), and the ONNX graph

def quant_int8(w):
    """[out, in] -> int8 [in, out] per-output-column symmetric (as models/train/export.py), scale [out]."""
    wt = w.T.astype(np.float32)
    scale = np.maximum(np.abs(wt).max(axis=0), 1e-8) / 127.0
    return np.clip(np.round(wt / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def quant_int4(w, block=32):
    """[N=out, K=in] -> MatMulNBits blobs uint8 [N, K/32, 16] (low nibble first), scales [N * K/32]; symmetric
    per block of 32 along K with the default zero point 8. Each block's scale is the one among absmax/7 × (0.6 ..
    1.0) with the least squared error (clipping a few outliers beats wasting levels on them)."""
    N, K = w.shape
    Kp = -(-K // block) * block
    wp = np.zeros((N, Kp), np.float32)
    wp[:, :K] = w
    blocks = wp.reshape(N, Kp // block, block)
    absmax = np.abs(blocks).max(axis=-1)
    absmax[absmax == 0] = 7.0
    best_scale, best_err = None, None
    for ratio in np.linspace(0.6, 1.0, 9, dtype=np.float32):
        scale = absmax * ratio / 7.0
        q = np.clip(np.round(blocks / scale[..., None]), -8, 7)
        err = ((q * scale[..., None] - blocks) ** 2).sum(-1)
        if best_err is None:
            best_scale, best_err = scale, err
        else:
            better = err < best_err
            best_scale, best_err = np.where(better, scale, best_scale), np.where(better, err, best_err)
    q = (np.clip(np.round(blocks / best_scale[..., None]), -8, 7) + 8).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return packed, best_scale.astype(np.float32).reshape(-1)


def dequantized(w, precision):
    """The weight as the quantised graph sees it (for the conversion-time check)."""
    if precision == 'int8':
        q, s = quant_int8(w)
        return (q.astype(np.float32) * s).T
    if precision == 'int4':
        N, K = w.shape
        packed, s = quant_int4(w)
        q = np.stack([packed & 15, packed >> 4], axis=-1).reshape(N, -1, 32).astype(np.float32) - 8
        return (q * s.reshape(N, -1, 1)).reshape(N, -1)[:, :K]
    if precision == 'fp16':
        return w.astype(np.float16).astype(np.float32)
    return w


def embedding_int8(e):
    """Per-row symmetric int8 table [V, D] and scales [V, 1]: what quantised graphs Gather from."""
    scale = np.maximum(np.abs(e).max(axis=1, keepdims=True), 1e-8) / 127.0
    return np.clip(np.round(e / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


class Graph:
    """Builds the ONNX graph node by node. Activations are fp16 for --precision fp16, fp32 otherwise."""

    def __init__(self, precision):
        self.precision = precision
        self.dtype = TensorProto.FLOAT16 if precision == 'fp16' else TensorProto.FLOAT
        self.np_dtype = np.float16 if precision == 'fp16' else np.float32
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, hint):
        self.n += 1
        return f'{hint}_{self.n}'

    def const(self, array, hint='c'):
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def float_const(self, array, hint='c'):
        return self.const(np.asarray(array, dtype=self.np_dtype), hint)

    def ints(self, values):
        return self.const(np.array(values, dtype=np.int64), 'shape')

    def op(self, op_type, inputs, outputs=1, hint=None, domain=None, **attrs):
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)] if isinstance(outputs, int) else outputs
        self.nodes.append(helper.make_node(op_type, inputs, names, domain=domain, **attrs))
        return names[0] if len(names) == 1 else names

    def cast(self, x, to):
        return self.op('Cast', [x], to=to)

    def linear(self, x, w, bias=None, hint='linear', precision=None):
        """x [..., in] @ w[out, in].T (+ bias) at the graph's precision (or the one given)."""
        N, K = w.shape
        precision = precision or self.precision
        if precision in ('fp32', 'fp16'):
            y = self.op('MatMul', [x, self.float_const(w.T, hint + '_w')], hint=hint)
        elif precision == 'int8':  # DynamicQuantizeLinear + MatMulInteger, as the bundled model
            q, s = quant_int8(w)
            xq, xs, xz = self.op('DynamicQuantizeLinear', [x], 3, hint=hint + '_xq')
            acc = self.op('MatMulInteger', [xq, self.const(q, hint + '_wq'), xz, self.const(np.array(0, np.int8), 'zero')])
            scale = self.op('Mul', [xs, self.const(s, hint + '_ws')])
            y = self.op('Mul', [self.cast(acc, TensorProto.FLOAT), scale], hint=hint)
        else:  # int4: com.microsoft MatMulNBits, block 32
            packed, s = quant_int4(w)
            y = self.op('MatMulNBits', [x, self.const(packed, hint + '_w4'), self.const(s, hint + '_s4')], hint=hint,
                        domain='com.microsoft', K=K, N=N, bits=4, block_size=32)
        return y if bias is None else self.op('Add', [y, self.float_const(bias, hint + '_b')])

    def rms_norm(self, x, w, eps, bias=None):
        """In fp32 whatever the activations, then back (as the modelling files do)."""
        x32 = x if self.dtype == TensorProto.FLOAT else self.cast(x, TensorProto.FLOAT)
        var = self.op('ReduceMean', [self.op('Mul', [x32, x32])], axes=[-1], keepdims=1)
        inv = self.op('Reciprocal', [self.op('Sqrt', [self.op('Add', [var, self.const(np.array(eps, np.float32), 'eps')])])])
        y = self.op('Mul', [x32, inv])
        y = y if self.dtype == TensorProto.FLOAT else self.cast(y, self.dtype)
        y = self.op('Mul', [y, self.float_const(w, 'norm_w')])
        return y if bias is None else self.op('Add', [y, self.float_const(bias, 'norm_b')])


def build_graph(arch, top, layers, n_valid, precision, top_k=TOP_K):
    g = Graph(precision)
    dt = g.dtype
    H, KV, hd, eps, D = arch['n_heads'], arch['n_kv_heads'], arch['head_dim'], arch['eps'], arch['dim']
    G = H // KV

    # token embedding
    if precision in ('int8', 'int4'):
        eq, es = embedding_int8(top['embed'])
        rows = g.cast(g.op('Gather', [g.const(eq, 'embed_q'), 'input_ids']), TensorProto.FLOAT)
        x = g.op('Mul', [rows, g.op('Gather', [g.const(es, 'embed_s'), 'input_ids'])])
    else:
        x = g.op('Gather', [g.float_const(top['embed'], 'embed'), 'input_ids'])
    if arch['emb_scale'] != 1.0:
        x = g.op('Mul', [x, g.float_const(arch['emb_scale'])])

    # RoPE from the explicit positions: [B, 1, T, hd]
    pos = g.cast('position_ids', TensorProto.FLOAT)
    freqs = g.op('Mul', [g.op('Unsqueeze', [pos, g.ints([2])]), g.const(arch['inv_freq'].numpy().astype(np.float32), 'inv_freq')])
    emb = g.op('Concat', [freqs, freqs], axis=-1)
    cos, sin = (g.op('Unsqueeze', [g.op(f, [emb]), g.ints([1])]) for f in ('Cos', 'Sin'))
    if arch['rope_factor'] != 1.0:
        factor = g.const(np.array(arch['rope_factor'], np.float32))
        cos, sin = g.op('Mul', [cos, factor]), g.op('Mul', [sin, factor])
    if dt != TensorProto.FLOAT:
        cos, sin = g.cast(cos, dt), g.cast(sin, dt)
    halves = g.ints([hd // 2, hd // 2])

    def rope(t):
        a, b = g.op('Split', [t, halves], 2, axis=-1)
        rotated = g.op('Concat', [g.op('Neg', [b]), a], axis=-1)
        return g.op('Add', [g.op('Mul', [t, cos]), g.op('Mul', [rotated, sin])])

    def heads(t, n):  # [B, T, n*hd] -> [B, n, T, hd]
        return g.op('Transpose', [g.op('Reshape', [t, g.ints([0, 0, n, hd])])], perm=[0, 2, 1, 3])

    presents_k, presents_v = [], []
    scale = g.float_const(1.0 / math.sqrt(hd), 'att_scale')
    for i, L in enumerate(layers):
        p = f'l{i}'
        h = g.rms_norm(x, L['attn_norm'], eps, L.get('attn_norm_bias'))
        q = g.linear(h, L['q'], L.get('q_bias'), p + '_q')
        k = g.linear(h, L['k'], L.get('k_bias'), p + '_k')
        v = g.linear(h, L['v'], L.get('v_bias'), p + '_v')
        if arch['qk_norm'] == 'full':
            q, k = g.rms_norm(q, L['q_norm'], eps), g.rms_norm(k, L['k_norm'], eps)
        if arch['qk_norm'] == 'head':
            q = g.op('Reshape', [g.rms_norm(g.op('Reshape', [q, g.ints([0, 0, H, hd])]), L['q_norm'], eps), g.ints([0, 0, H * hd])])
            k = g.op('Reshape', [g.rms_norm(g.op('Reshape', [k, g.ints([0, 0, KV, hd])]), L['k_norm'], eps), g.ints([0, 0, KV * hd])])
        q, k, v = rope(heads(q, H)), rope(heads(k, KV)), heads(v, KV)
        presents_k.append(g.op('Unsqueeze', [k, g.ints([0])]))
        presents_v.append(g.op('Unsqueeze', [v, g.ints([0])]))
        layer_index = g.const(np.array(i, np.int64), 'layer')
        all_k = g.op('Concat', [g.op('Gather', ['past_keys', layer_index], axis=0), k], axis=2)
        all_v = g.op('Concat', [g.op('Gather', ['past_values', layer_index], axis=0), v], axis=2)
        # grouped-query attention without repeating K/V: q [B, KV, G, T, hd] against k [B, KV, 1, S, hd]
        q5 = g.op('Reshape', [q, g.ints([0, KV, G, -1, hd])])
        k5 = g.op('Unsqueeze', [all_k, g.ints([2])])
        v5 = g.op('Unsqueeze', [all_v, g.ints([2])])
        scores = g.op('Mul', [g.op('MatMul', [q5, g.op('Transpose', [k5], perm=[0, 1, 2, 4, 3])]), scale])
        if dt != TensorProto.FLOAT:
            probs = g.cast(g.op('Softmax', [g.cast(scores, TensorProto.FLOAT)], axis=-1), dt)
        else:
            probs = g.op('Softmax', [scores], axis=-1)
        att = g.op('Reshape', [g.op('MatMul', [probs, v5]), g.ints([0, H, -1, hd])])
        att = g.op('Reshape', [g.op('Transpose', [att], perm=[0, 2, 1, 3]), g.ints([0, 0, H * hd])])
        x = g.op('Add', [x, g.linear(att, L['o'], L.get('o_bias'), p + '_o')])
        h = g.rms_norm(x, L['mlp_norm'], eps, L.get('mlp_norm_bias'))
        gate = g.linear(h, L['gate'], L.get('gate_bias'), p + '_gate')
        if arch['act'] == 'silu':
            gate = g.op('Mul', [gate, g.op('Sigmoid', [gate])])
        elif arch['act'] == 'relu':
            gate = g.op('Relu', [gate])
        elif arch['act'] == 'gelu':
            gate = g.op('Gelu', [gate], domain='com.microsoft')
        else:
            sys.exit(f"from_hf: activation {arch['act']!r} is not supported in the graph")
        up = g.linear(h, L['up'], L.get('up_bias'), p + '_up')
        x = g.op('Add', [x, g.linear(g.op('Mul', [gate, up]), L['down'], L.get('down_bias'), p + '_down')])

    g.op('Concat', presents_k, ['present_keys'], axis=0)
    g.op('Concat', presents_v, ['present_values'], axis=0)

    # predictions for output_positions only; the head keeps the tokenizer's rows (padding rows never predicted)
    rows = g.op('GatherND', [x, g.op('Unsqueeze', ['output_positions', g.ints([2])])], batch_dims=1)
    rows = g.rms_norm(rows, top['final_norm'], eps, top.get('final_norm_bias'))
    logits = g.linear(rows, top['head'][:n_valid], None, 'lm_head', head_precision(precision))
    if dt != TensorProto.FLOAT:
        logits = g.cast(logits, TensorProto.FLOAT)
    if arch['logit_scale'] != 1.0:
        logits = g.op('Mul', [logits, g.const(np.array(arch['logit_scale'], np.float32))])
    logp = g.op('LogSoftmax', [logits], axis=-1)
    probs = g.op('Exp', [logp])
    g.op('TopK', [probs, g.ints([top_k])], ['top_probs', 'top_ids'], axis=-1)
    g.op('ReduceSum', [g.op('Mul', [probs, logp]), g.ints([-1])], ['neg_entropy'], keepdims=0)

    L_, kv_shape = arch['n_layers'], lambda t: [arch['n_layers'], 'batch', KV, t, hd]
    inputs = [helper.make_tensor_value_info('input_ids', TensorProto.INT64, ['batch', 'q_len']),
              helper.make_tensor_value_info('position_ids', TensorProto.INT64, ['batch', 'q_len']),
              helper.make_tensor_value_info('past_keys', kv_type(precision), kv_shape('past_len')),
              helper.make_tensor_value_info('past_values', kv_type(precision), kv_shape('past_len')),
              helper.make_tensor_value_info('output_positions', TensorProto.INT64, ['batch', 'n_out'])]
    outputs = [helper.make_tensor_value_info('top_ids', TensorProto.INT64, ['batch', 'n_out', top_k]),
               helper.make_tensor_value_info('top_probs', TensorProto.FLOAT, ['batch', 'n_out', top_k]),
               helper.make_tensor_value_info('neg_entropy', TensorProto.FLOAT, ['batch', 'n_out']),
               helper.make_tensor_value_info('present_keys', kv_type(precision), kv_shape('q_len')),
               helper.make_tensor_value_info('present_values', kv_type(precision), kv_shape('q_len'))]
    graph = helper.make_graph(g.nodes, 'dllm', inputs, outputs, g.inits)
    opsets = [helper.make_opsetid('', 17), helper.make_opsetid('com.microsoft', 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name='dllm-code from_hf.py', ir_version=8)


def head_precision(precision):
    """The output head stays int8 in int4 graphs: its errors go straight into the probabilities (as llama.cpp and
    most int4 recipes keep the output layer at higher precision)."""
    return 'int8' if precision == 'int4' else precision


def kv_type(precision):
    return TensorProto.FLOAT16 if precision == 'fp16' else TensorProto.FLOAT


EXTERNAL_DATA_ABOVE = 1.9e9  # bytes of weights; protobuf files cannot pass 2 GB


def save_model(model, path):
    """Plain protobuf under 2 GB; above, weights go to model.onnx.data next to it (ONNX external data)."""
    size = sum(t.ByteSize() for t in model.graph.initializer)
    data = path + '.data'
    if os.path.exists(data):
        os.remove(data)
    if size > EXTERNAL_DATA_ABOVE:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(data), size_threshold=1024)
        onnx.checker.check_model(path)
        return [os.path.basename(path), os.path.basename(data)]
    onnx.checker.check_model(model)
    onnx.save_model(model, path)
    return [os.path.basename(path)]


# ----------------------------------------------------------------------------------------------------------------
# 6. Self-check, quantisation check, config.json, MODEL_CARD.md

# What a graph must reach on the self-check inputs against the converter's PyTorch forward run with the *same*
# weights (fp32, or dequantised int8 / int4, or fp16-rounded): a miss means the graph does not compute what the
# converter meant. A top-1 difference where the reference's own top-2 gap is below `near_tie_gap` is not counted.
THRESHOLDS = {
    'fp32': dict(min_top1_agreement=1.0, max_abs_delta_p=1e-3, near_tie_gap=1e-4),
    'fp16': dict(min_top1_agreement=0.98, max_abs_delta_p=2e-2, near_tie_gap=1e-2),
    'int8': dict(min_top1_agreement=0.98, max_abs_delta_p=2e-2, near_tie_gap=1e-2),
    'int4': dict(min_top1_agreement=0.98, max_abs_delta_p=2e-2, near_tie_gap=1e-2),
}
# What quantisation itself costs against fp32 is measured and reported (config card, self_check.json
# `fp32_agreement`); these are the levels below which the converter warns.
EXPECTED_FP32_AGREEMENT = {'fp16': 0.98, 'int8': 0.9, 'int4': 0.8}


def self_check_cases(ref, arch, n_valid, mask, seed=0, T=24):
    """Three passes the engine makes: a full pass, a dual-cache block pass (past = prefix ++ suffix from the
    first pass) and a pruned-suffix pass with gaps in position_ids."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, n_valid, (1, T), generator=g)
    ids[0, 8:16] = mask
    L, KV, hd = arch['n_layers'], arch['n_kv_heads'], arch['head_dim']
    empty = torch.zeros(L, 1, KV, 0, hd)
    full_in = (ids, torch.arange(T)[None], empty, empty, torch.arange(T)[None])
    full = ref.forward(*full_in)
    s, e = 8, 16
    outside = [i for i in range(T) if not s <= i < e]
    block_in = (ids[:, s:e], torch.arange(s, e)[None], full[3][:, :, :, outside], full[4][:, :, :, outside], torch.arange(e - s)[None])
    kept = list(range(s, e)) + [18, 19, T - 1]
    pruned_in = (ids[:, kept], torch.tensor([kept]), full[3][:, :, :, :s], full[4][:, :, :, :s], torch.arange(e - s)[None])
    return [('full', full_in), ('dual_cache_block', block_in), ('pruned_suffix', pruned_in)]


INPUT_NAMES = ['input_ids', 'position_ids', 'past_keys', 'past_values', 'output_positions']


def tensor_json(t):
    data = t.flatten().tolist()
    return {'shape': list(t.shape), 'data': data}


def compare(ref_out, got_out, thresholds):
    want_ids, want_p, want_ent = ref_out[0], ref_out[1], ref_out[2]
    got_ids, got_p, got_ent = got_out[0], got_out[1], got_out[2]
    gap = want_p[..., 0] - want_p[..., 1]
    same = got_ids[..., 0] == want_ids[..., 0]
    counted = same | (gap >= thresholds['near_tie_gap'])
    n = int(counted.sum())
    agree = float((same & counted).sum()) / n if n else None  # None: every position was a near tie
    return dict(positions=int(same.numel()), counted=n, top1_agreement=agree, near_ties_skipped=int((~counted).sum()),
                max_abs_delta_p=float((got_p[..., 0] - want_p[..., 0]).abs().max()),
                max_abs_delta_neg_entropy=float((got_ent - want_ent).abs().max()))


def quantised_reference(arch, top, layers, n_valid, precision):
    q_layers = [{k: dequantized(v, precision) if v.ndim == 2 else v for k, v in L.items()} for L in layers]
    q_top = dict(top, head=dequantized(top['head'], head_precision(precision)))
    if precision in ('int8', 'int4'):
        eq, es = embedding_int8(top['embed'])
        q_top['embed'] = eq.astype(np.float32) * es
    elif precision == 'fp16':
        q_top['embed'] = top['embed'].astype(np.float16).astype(np.float32)
    ref = Reference(arch, q_top, q_layers, n_valid)
    ref.activation_quant = precision == 'int8'
    ref.head_activation_quant = head_precision(precision) == 'int8'
    return ref


def n_valid_tokens(tok, vocab_rows):
    vocab, _ = tokenizer_ids(tok)
    return min(vocab_rows, max(vocab.values()) + 1) if vocab else vocab_rows


def write_model_card(out, config, decisions, report, files):
    lines = [f"# {config['name']} ({config['precision']})", '',
             f"Converted by `models/convert/from_hf.py` from `{config['source_checkpoint']}`. Weights and licence are the "
             f"original authors': **{config['license']}**. This card was generated; nothing here was measured on real tasks.", '',
             '| field | value | why |', '|---|---|---|']
    for key, (value, why) in decisions.items():
        if key != 'special_tokens':
            lines.append(f'| {key} | `{json.dumps(value)}` | {why} |')
    lines += ['', f"Architecture: {config['n_layers']} layers, {config['n_heads']} query / {config['n_kv_heads']} K/V heads of "
              f"{config['head_dim']}, vocabulary {config['vocab_size']} ({report['n_valid']} tokenizer ids can be predicted), "
              f"{config['n_params']:,} parameters.", '',
              f"Files: {', '.join(f'`{f}` ({os.path.getsize(os.path.join(out, f)):,} bytes)' for f in files)}.", '',
              '## Conversion-time check', '',
              f"What {config['precision']} costs: the converter's PyTorch forward with the graph's weights against fp32 on "
              'the inputs of `self_check.json` (quantised activations emulated for int8; empty for fp32):', '',
              '| case | positions counted (not near ties) | top-1 agreement | max abs Δp1 |', '|---|---|---|---|']
    for row in report['quantisation_check']:
        agree = 'undefined (all near ties)' if row['top1_agreement'] is None else f"{row['top1_agreement']:.3f}"
        lines.append(f"| {row['case']} | {row['counted']} of {row['positions']} | {agree} | {row['max_abs_delta_p']:.2e} |")
    lines += ['', 'Replay the ONNX graph on the same inputs: `node dist/cli.js check-model --model DIR`.', '']
    with open(os.path.join(out, 'MODEL_CARD.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--precision', choices=['fp32', 'fp16', 'int8', 'int4'], default='fp32')
    ap.add_argument('--attention', choices=['bidirectional', 'block-causal'])
    ap.add_argument('--block-size', type=int)
    ap.add_argument('--logit-shift', type=int, choices=[0, 1])
    ap.add_argument('--mask-token-id', type=int)
    ap.add_argument('--name')
    args = ap.parse_args()
    started = time.time()
    torch.set_grad_enabled(False)

    cfg = read_json(args.checkpoint, 'config.json')
    if not cfg:
        sys.exit(f'from_hf: {args.checkpoint}/config.json is missing')
    tok = read_json(args.checkpoint, 'tokenizer.json')
    if not tok:
        sys.exit(f'from_hf: {args.checkpoint}/tokenizer.json is missing (the engine needs the fast tokenizer file)')
    weights, files = read_checkpoint(args.checkpoint)
    arch, top, layers = describe(cfg, weights)
    del weights
    chosen, decisions = decide(args, cfg, read_json(args.checkpoint, 'generation_config.json'), tok,
                               read_json(args.checkpoint, 'tokenizer_config.json'), arch)
    vocab_rows = top['head'].shape[0]
    n_valid = n_valid_tokens(tok, vocab_rows)
    n_params = int(sum(v.size for L in layers for v in L.values()) + top['embed'].size + top['final_norm'].size
                   + (0 if arch['tied'] else top['head'].size))
    print(f"from_hf: {len(files)} safetensors file(s), layout {arch['layout']}, {arch['n_layers']} layers, width {arch['dim']}, "
          f"{arch['n_heads']} query / {arch['n_kv_heads']} K/V heads of {arch['head_dim']}, vocabulary {vocab_rows} "
          f"({n_valid} tokenizer ids), {'tied' if arch['tied'] else 'separate'} head, {n_params:,} parameters")
    for key, (value, why) in decisions.items():
        shown = value if key != 'special_tokens' else f'{len(value)} tokens'
        print(f'from_hf: {key} = {json.dumps(shown)}  ({why})')
    if chosen['mask_token_id'] >= n_valid:
        sys.exit(f"from_hf: mask id {chosen['mask_token_id']} is beyond the tokenizer's {n_valid} ids")

    os.makedirs(args.out, exist_ok=True)
    ref = Reference(arch, top, layers, n_valid)
    model = build_graph(arch, top, layers, n_valid, args.precision)
    saved = save_model(model, os.path.join(args.out, 'model.onnx'))
    del model
    print(f'from_hf: wrote {", ".join(saved)} ({sum(os.path.getsize(os.path.join(args.out, f)) for f in saved):,} bytes)')

    thresholds = THRESHOLDS[args.precision]
    cases, quant_rows = [], []
    quant_ref = quantised_reference(arch, top, layers, n_valid, args.precision) if args.precision != 'fp32' else None
    out_names = ['top_ids', 'top_probs', 'neg_entropy']
    for name, inputs in self_check_cases(ref, arch, n_valid, chosen['mask_token_id']):
        out = ref.forward(*inputs)
        case = {'name': name, 'inputs': {k: tensor_json(v) for k, v in zip(INPUT_NAMES, inputs)},
                'outputs': {k: tensor_json(v) for k, v in zip(out_names, out[:3])}}
        if quant_ref is not None:
            q_out = quant_ref.forward(*inputs)
            case['outputs_same_weights'] = {k: tensor_json(v) for k, v in zip(out_names, q_out[:3])}
            quant_rows.append(dict(case=name, **compare(out, q_out, THRESHOLDS['fp32'])))
        cases.append(case)
    expected = EXPECTED_FP32_AGREEMENT.get(args.precision, 1.0)
    for row in quant_rows:
        agree = 'undefined' if row['top1_agreement'] is None else f"{row['top1_agreement']:.3f}"
        low = row['top1_agreement'] is not None and row['top1_agreement'] < expected
        print(f"from_hf: {args.precision} weights vs fp32 ({row['case']}): top-1 agreement {agree} over {row['counted']} of "
              f"{row['positions']} positions ({row['near_ties_skipped']} near ties), max |Δp1| {row['max_abs_delta_p']:.2e}"
              f"{f' (below the {expected} expected of {args.precision})' if low else ''}")
    write_json(os.path.join(args.out, 'self_check.json'), {'precision': args.precision, 'kv_dtype': 'float16' if args.precision == 'fp16' else 'float32',
               'reference': 'PyTorch forward of from_hf.py: outputs at fp32; outputs_same_weights with the graph\'s '
                            'quantised / fp16-rounded weights (int8 also with quantised activations)',
               'thresholds': thresholds, 'fp32_agreement': quant_rows,
               'expected_fp32_agreement': expected, 'cases': cases})

    shutil.copy(os.path.join(args.checkpoint, 'tokenizer.json'), os.path.join(args.out, 'tokenizer.json'))
    name = args.name or f"{os.path.basename(os.path.abspath(args.checkpoint))}-{args.precision}"
    config = {
        'name': name, 'format_version': 2, 'vocab_size': vocab_rows, 'mask_token_id': chosen['mask_token_id'],
        'pad_token_id': chosen['pad_token_id'], 'bos_token_id': chosen['bos_token_id'],
        'logit_shift': chosen['logit_shift'], 'block_size': chosen['block_size'], 'max_length': chosen['max_length'],
        'top_k': TOP_K, 'n_layers': arch['n_layers'], 'n_heads': arch['n_heads'], 'head_dim': arch['head_dim'],
        'kv_cache': True, 'languages': ['*'],
        'n_kv_heads': arch['n_kv_heads'], 'attention': chosen['attention'], 'end_token_ids': chosen['end_token_ids'],
        'precision': args.precision, 'kv_dtype': 'float16' if args.precision == 'fp16' else 'float32',
        'family': chosen['family'], 'n_params': n_params,
        'source_checkpoint': cfg.get('_name_or_path') or os.path.basename(os.path.abspath(args.checkpoint)),
        'license': chosen['license'], 'special_tokens': chosen['special_tokens'],
    }
    write_json(os.path.join(args.out, 'config.json'), config, indent=2)
    report = {'n_valid': n_valid, 'quantisation_check': quant_rows, 'seconds': round(time.time() - started, 1)}
    write_model_card(args.out, config, decisions, report, saved)
    print(f"from_hf: done in {report['seconds']} s -> {args.out} (check with: node dist/cli.js check-model --model {args.out})")


if __name__ == '__main__':
    main()
