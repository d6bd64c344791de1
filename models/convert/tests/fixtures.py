"""Tiny random checkpoints in the real Hugging Face layouts and parameter names, written the way the hub serves
them: config.json, safetensors (single or sharded with model.safetensors.index.json; fp32 or bf16),
tokenizer.json (byte-level BPE), tokenizer_config.json, generation_config.json.

Weights are random (normal, std 0.02 for projections as the families initialise them; std 0.5 for the
embedding so the predicted distributions are peaked enough for top-1 comparisons to mean something).
"""
import json, math, os
import numpy as np

# ---------------------------------------------------------------- safetensors writer (the format from_hf.py reads)


def to_bf16(a):
    """float32 -> bf16 bits, round to nearest even."""
    bits = a.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def write_safetensors(path, tensors, dtype='F32'):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = (to_bf16(a) if dtype == 'BF16' else a.astype(np.float32)).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b' ' * (-len(head) % 8)
    with open(path, 'wb') as f:
        f.write(len(head).to_bytes(8, 'little'))
        f.write(head)
        for b in blobs:
            f.write(b)


def write_json(path, value):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=2)


def write_weights(out, tensors, dtype='F32', shards=1):
    if shards == 1:
        write_safetensors(os.path.join(out, 'model.safetensors'), tensors, dtype)
        return
    names = list(tensors)
    weight_map = {}
    for s in range(shards):
        part = names[s::shards]
        file = f'model-{s + 1:05d}-of-{shards:05d}.safetensors'
        write_safetensors(os.path.join(out, file), {n: tensors[n] for n in part}, dtype)
        weight_map.update({n: file for n in part})
    write_json(os.path.join(out, 'model.safetensors.index.json'), {'metadata': {'total_size': 0}, 'weight_map': weight_map})


# ---------------------------------------------------------------- tokenizer.json: byte-level BPE


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


MERGES = [('Ġ', 't'), ('Ġ', 'a'), ('r', 'e'), ('i', 'n'), ('o', 'n'), ('e', 'r'), ('Ġ', 'r'), ('Ġr', 'e'),
          ('t', 'u'), ('r', 'n'), ('tu', 'rn'), ('Ġre', 'turn'), ('Ġ', 'f'), ('u', 'n'), ('c', 't'), ('i', 'on'),
          ('ct', 'ion'), ('un', 'ction'), ('Ġf', 'unction'), ('Ġ', 'c'), ('o', 'n'), ('s', 't'), ('Ġc', 'on'),
          ('Ġcon', 'st'), ('Ġ', 'Ġ'), ('ĠĠ', 'ĠĠ'), ('Ċ', 'ĠĠ'), ('(', ')'), ('Ġ', '='), ('Ġ', '{')]


def tokenizer_json(specials, n_regular=None):
    """Byte-level BPE: 256 byte symbols + merges, then the special tokens as added tokens."""
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    merges = []
    for a, b in MERGES:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
            merges.append(f'{a} {b}')
    added = [{'id': len(vocab) + i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
              'normalized': False, 'special': True} for i, s in enumerate(specials)]
    return {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '',
                  'end_of_word_suffix': '', 'fuse_unk': False, 'byte_fallback': False, 'vocab': vocab, 'merges': merges},
    }


# ---------------------------------------------------------------- the families

QWEN_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>',
                 '<|mask|>']
LLADA_SPECIALS = ['<|startoftext|>', '<|endoftext|>', '<|eot_id|>', '<|mdm_mask|>']


def rnd(rng, *shape, std=0.02):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def qwen_like(rng, layers, D, H, KV, hd, inter, vocab, tied, bias, qk_norm):
    t = {'model.embed_tokens.weight': rnd(rng, vocab, D, std=0.5), 'model.norm.weight': 1 + rnd(rng, D, std=0.1)}
    if not tied:
        t['lm_head.weight'] = rnd(rng, vocab, D, std=0.5)
    for i in range(layers):
        p = f'model.layers.{i}.'
        t[p + 'input_layernorm.weight'] = 1 + rnd(rng, D, std=0.1)
        t[p + 'post_attention_layernorm.weight'] = 1 + rnd(rng, D, std=0.1)
        for name, out in (('q', H * hd), ('k', KV * hd), ('v', KV * hd)):
            t[p + f'self_attn.{name}_proj.weight'] = rnd(rng, out, D, std=0.1)
            if bias:
                t[p + f'self_attn.{name}_proj.bias'] = rnd(rng, out, std=0.1)
        t[p + 'self_attn.o_proj.weight'] = rnd(rng, D, H * hd, std=0.1)
        if qk_norm:
            t[p + 'self_attn.q_norm.weight'] = 1 + rnd(rng, hd, std=0.1)
            t[p + 'self_attn.k_norm.weight'] = 1 + rnd(rng, hd, std=0.1)
        t[p + 'mlp.gate_proj.weight'] = rnd(rng, inter, D, std=0.1)
        t[p + 'mlp.up_proj.weight'] = rnd(rng, inter, D, std=0.1)
        t[p + 'mlp.down_proj.weight'] = rnd(rng, D, inter, std=0.1)
    return t


def llada_weights(rng, layers, D, H, KV, inter, vocab, tied):
    hd = D // H
    t = {'model.transformer.wte.weight': rnd(rng, vocab, D, std=0.5), 'model.transformer.ln_f.weight': 1 + rnd(rng, D, std=0.1)}
    if not tied:
        t['model.transformer.ff_out.weight'] = rnd(rng, vocab, D, std=0.5)
    for i in range(layers):
        p = f'model.transformer.blocks.{i}.'
        t[p + 'attn_norm.weight'] = 1 + rnd(rng, D, std=0.1)
        t[p + 'ff_norm.weight'] = 1 + rnd(rng, D, std=0.1)
        t[p + 'q_proj.weight'] = rnd(rng, D, D, std=0.1)
        t[p + 'k_proj.weight'] = rnd(rng, KV * hd, D, std=0.1)
        t[p + 'v_proj.weight'] = rnd(rng, KV * hd, D, std=0.1)
        t[p + 'attn_out.weight'] = rnd(rng, D, D, std=0.1)
        t[p + 'ff_proj.weight'] = rnd(rng, inter, D, std=0.1)
        t[p + 'up_proj.weight'] = rnd(rng, inter, D, std=0.1)
        t[p + 'ff_out.weight'] = rnd(rng, D, inter, std=0.1)
    return t


# name -> what the checkpoint folder holds. Folder names follow the hub ids so the family table can match them.
FIXTURES = {
    # Qwen2 + QKV bias + GQA, bidirectional, shifted, embedding padded beyond the tokenizer (as Qwen2.5: 151,936 rows)
    'open-dcoder-tiny': dict(kind='qwen2', model_type='qwen2', arch='Qwen2ForCausalLM', vocab=320, tied=True,
                             expect=dict(attention='bidirectional', logit_shift=1, n_kv_heads=2)),
    # Dream naming (model_type Dream), mask id in config.json, separate head
    'dream-tiny': dict(kind='qwen2', model_type='Dream', arch='DreamModel', vocab=303, tied=False, mask_in_config=True,
                       expect=dict(attention='bidirectional', logit_shift=1)),
    # Qwen2 block-causal, shifted; sharded, bf16
    'fast-dllm-v2-tiny': dict(kind='qwen2', model_type='qwen2', arch='Qwen2ForCausalLM', vocab=303, tied=True,
                              shards=3, dtype='BF16', expect=dict(attention='block-causal', logit_shift=1, block_size=32)),
    # Qwen3 (QK-norm, head_dim 32 != width / heads), block-causal, unshifted
    'sdar-tiny': dict(kind='qwen3', model_type='qwen3', arch='Qwen3ForCausalLM', vocab=303, tied=False, hd=32,
                      expect=dict(attention='block-causal', logit_shift=0, block_size=4)),
    # Qwen3 mdlm (Tiny-A2D style), bidirectional, unshifted, tied
    'qwen3-0.6b-diffusion-mdlm-tiny': dict(kind='qwen3', model_type='qwen3', arch='Qwen3ForCausalLM', vocab=303, tied=True,
                                            expect=dict(attention='bidirectional', logit_shift=0)),
    # LLaDA's own names, separate ff_out head, bidirectional, unshifted
    'llada-tiny': dict(kind='llada', vocab=300, tied=False, expect=dict(attention='bidirectional', logit_shift=0)),
    # Llama layout with llama3 RoPE scaling, block-causal, unshifted
    'stable-diffcoder-tiny': dict(kind='llama', model_type='llama', arch='LlamaForCausalLM', vocab=303, tied=False,
                                  rope_scaling={'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0,
                                                'high_freq_factor': 4.0, 'original_max_position_embeddings': 64},
                                  expect=dict(attention='block-causal', logit_shift=0, block_size=4)),
}


def write_fixture(root, name, seed=0, layers=2, D=64, H=4, KV=2, inter=96):
    spec = FIXTURES[name]
    rng = np.random.default_rng(seed)
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    llada = spec['kind'] == 'llada'
    specials = LLADA_SPECIALS if llada else QWEN_SPECIALS
    tok = tokenizer_json(specials)
    ids = {t['content']: t['id'] for t in tok['added_tokens']}
    n_tok = max(ids.values()) + 1
    vocab = spec['vocab']
    assert vocab >= n_tok, (name, vocab, n_tok)
    write_json(os.path.join(out, 'tokenizer.json'), tok)
    if llada:
        KV = H  # LLaDA-8B is plain multi-head
        tensors = llada_weights(rng, layers, D, H, KV, inter, vocab, spec['tied'])
        config = {'architectures': ['LLaDAModelLM'], 'model_type': 'llada', 'd_model': D, 'n_heads': H, 'n_kv_heads': KV,
                  'n_layers': layers, 'mlp_hidden_size': inter, 'mlp_ratio': 4, 'activation_type': 'silu',
                  'block_type': 'llama', 'layer_norm_type': 'rms', 'rms_norm_eps': 1e-5, 'rope': True,
                  'rope_theta': 500000.0, 'alibi': False, 'include_bias': False, 'include_qkv_bias': False,
                  'weight_tying': spec['tied'], 'vocab_size': vocab, 'embedding_size': vocab,
                  'max_sequence_length': 4096, 'mask_token_id': ids['<|mdm_mask|>'], 'eos_token_id': ids['<|endoftext|>'],
                  'pad_token_id': ids['<|endoftext|>'], 'scale_logits': False, 'input_emb_norm': False}
        tok_cfg = {'bos_token': '<|startoftext|>', 'eos_token': '<|endoftext|>', 'add_bos_token': True}
        gen = {'eos_token_id': [ids['<|endoftext|>'], ids['<|eot_id|>']]}
    else:
        hd = spec.get('hd', D // H)
        qwen3 = spec['kind'] == 'qwen3'
        tensors = qwen_like(rng, layers, D, H, KV, hd, inter, vocab, spec['tied'], bias=spec['kind'] == 'qwen2', qk_norm=qwen3)
        config = {'architectures': [spec['arch']], 'model_type': spec['model_type'], 'hidden_size': D,
                  'num_attention_heads': H, 'num_key_value_heads': KV, 'num_hidden_layers': layers,
                  'intermediate_size': inter, 'hidden_act': 'silu', 'rms_norm_eps': 1e-6, 'rope_theta': 1000000.0,
                  'max_position_embeddings': 32768, 'tie_word_embeddings': spec['tied'], 'vocab_size': vocab,
                  'bos_token_id': ids['<|endoftext|>'], 'eos_token_id': ids['<|endoftext|>'], 'torch_dtype': 'bfloat16'}
        if qwen3 or spec['kind'] == 'llama':
            config['head_dim'] = hd
            config['attention_bias'] = False
        if spec.get('rope_scaling'):
            config['rope_scaling'] = spec['rope_scaling']
            config['rope_theta'] = 500000.0
        if spec.get('mask_in_config'):
            config['mask_token_id'] = ids['<|mask|>']
            config['pad_token_id'] = ids['<|endoftext|>']
        tok_cfg = {'bos_token': None, 'eos_token': '<|im_end|>', 'pad_token': '<|endoftext|>'}
        gen = {'eos_token_id': [ids['<|im_end|>'], ids['<|endoftext|>']], 'pad_token_id': ids['<|endoftext|>']}
    write_json(os.path.join(out, 'config.json'), config)
    write_json(os.path.join(out, 'tokenizer_config.json'), tok_cfg)
    write_json(os.path.join(out, 'generation_config.json'), gen)
    write_weights(out, tensors, spec.get('dtype', 'F32'), spec.get('shards', 1))
    return out, dict(n_tokenizer_ids=n_tok, ids=ids, **spec)


def write_qwen25_coder_05b_shape(root, seed=0):
    """The exact shapes of Qwen2.5-Coder-0.5B (24 layers, width 896, 14 query / 2 K/V heads of 64, intermediate
    4864, vocabulary 151,936 rows, tied), random bf16 weights, with the tiny tokenizer extended to 151,665 ids."""
    rng = np.random.default_rng(seed)
    out = os.path.join(root, 'qwen2.5-coder-0.5b-shape-open-dcoder')
    os.makedirs(out, exist_ok=True)
    tok = tokenizer_json(QWEN_SPECIALS)
    # pad the added tokens out to Qwen2.5's 151,665 ids: the last special ids stay where Qwen puts them
    n = len(tok['model']['vocab'])
    filler = [{'id': i, 'content': f'<|reserved_{i}|>', 'single_word': False, 'lstrip': False, 'rstrip': False,
               'normalized': False, 'special': False} for i in range(n, 151643)]
    specials = [{'id': 151643 + i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
                 'normalized': False, 'special': True} for i, s in enumerate(QWEN_SPECIALS)]
    tail = [{'id': i, 'content': f'<|reserved_{i}|>', 'single_word': False, 'lstrip': False, 'rstrip': False,
             'normalized': False, 'special': False} for i in range(151643 + len(specials), 151665)]
    tok['added_tokens'] = filler + specials + tail
    write_json(os.path.join(out, 'tokenizer.json'), tok)
    D, H, KV, hd, inter, vocab, layers = 896, 14, 2, 64, 4864, 151936, 24
    tensors = {}
    tensors['model.embed_tokens.weight'] = rnd(rng, vocab, D, std=0.05)  # logits neither flat nor saturated
    tensors['model.norm.weight'] = 1 + rnd(rng, D, std=0.1)
    for i in range(layers):
        p = f'model.layers.{i}.'
        tensors[p + 'input_layernorm.weight'] = 1 + rnd(rng, D, std=0.1)
        tensors[p + 'post_attention_layernorm.weight'] = 1 + rnd(rng, D, std=0.1)
        for name, o in (('q', H * hd), ('k', KV * hd), ('v', KV * hd)):
            tensors[p + f'self_attn.{name}_proj.weight'] = rnd(rng, o, D, std=0.03)
            tensors[p + f'self_attn.{name}_proj.bias'] = rnd(rng, o, std=0.03)
        # residual projections scaled by 1/sqrt(2 * layers), as these families initialise them: a deep random
        # network stays stable instead of amplifying every rounding difference
        tensors[p + 'self_attn.o_proj.weight'] = rnd(rng, D, H * hd, std=0.03 / math.sqrt(2 * layers))
        tensors[p + 'mlp.gate_proj.weight'] = rnd(rng, inter, D, std=0.03)
        tensors[p + 'mlp.up_proj.weight'] = rnd(rng, inter, D, std=0.03)
        tensors[p + 'mlp.down_proj.weight'] = rnd(rng, D, inter, std=0.03 / math.sqrt(2 * layers))
    config = {'architectures': ['Qwen2ForCausalLM'], 'model_type': 'qwen2', 'hidden_size': D, 'num_attention_heads': H,
              'num_key_value_heads': KV, 'num_hidden_layers': layers, 'intermediate_size': inter, 'hidden_act': 'silu',
              'rms_norm_eps': 1e-6, 'rope_theta': 1000000.0, 'max_position_embeddings': 32768,
              'tie_word_embeddings': True, 'vocab_size': vocab, 'bos_token_id': 151643, 'eos_token_id': 151643,
              'torch_dtype': 'bfloat16'}
    write_json(os.path.join(out, 'config.json'), config)
    write_json(os.path.join(out, 'tokenizer_config.json'), {'bos_token': None, 'eos_token': '<|im_end|>'})
    write_json(os.path.join(out, 'generation_config.json'), {'eos_token_id': [151645, 151643], 'pad_token_id': 151643})
    write_weights(out, tensors, 'BF16', shards=2)
    return out
