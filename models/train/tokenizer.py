"""Stage 2: byte-level BPE trained on a sample of the corpus, written as a Hugging Face tokenizer.json.

The pre-tokenizer is the GPT-2 regex that tokenizers' ByteLevel pre-tokenizer uses, and merges are applied by rank
(ignore_merges = false), so this encoder and @huggingface/tokenizers give the same ids.
Special tokens use Private Use Area characters, so their names cannot occur in source code.
"""
import heapq, json, os, sys
from collections import Counter, defaultdict
import regex

PAD, MASK, BOS = '<\ue000pad>', '<\ue000mask>', '<\ue000bos>'
SPECIALS = [PAD, MASK, BOS]  # ids 0, 1, 2; PAD also marks the end of a middle span and of a file
PAD_ID, MASK_ID, BOS_ID = 0, 1, 2
PRETOKENIZE = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """The GPT-2 byte <-> printable character table used by ByteLevel."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHAR = bytes_to_unicode()


def chunks(text):
    return [''.join(BYTE_CHAR[b] for b in m.encode('utf-8')) for m in PRETOKENIZE.findall(text)]


def train(texts, vocab_size):
    words = Counter()
    for t in texts:
        words.update(chunks(t))
    alphabet = [BYTE_CHAR[b] for b in range(256)]
    sym_id = {s: i for i, s in enumerate(alphabet)}
    symbols = alphabet[:]
    seqs = [[sym_id[c] for c in w] for w in words]
    freq = list(words.values())
    pair_count = defaultdict(int)
    where = defaultdict(set)
    for wi, seq in enumerate(seqs):
        for a, b in zip(seq, seq[1:]):
            pair_count[(a, b)] += freq[wi]
            where[(a, b)].add(wi)
    heap = [(-c, symbols[p[0]], symbols[p[1]], p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    n_merges = vocab_size - len(SPECIALS) - 256
    while len(merges) < n_merges and heap:
        negc, _, _, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or -negc <= 0:
            continue  # stale heap entry
        a, b = pair
        new = len(symbols)
        symbols.append(symbols[a] + symbols[b])
        merges.append((symbols[a], symbols[b]))
        touched = {}
        for wi in list(where[pair]):
            seq, f = seqs[wi], freq[wi]
            for x, y in zip(seq, seq[1:]):
                pair_count[(x, y)] -= f
                touched[(x, y)] = True
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[wi] = out
            for x, y in zip(seq, seq[1:]):
                where[(x, y)].discard(wi)
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                where[(x, y)].add(wi)
                touched[(x, y)] = True
        pair_count.pop(pair, None)
        for p in touched:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, symbols[p[0]], symbols[p[1]], p))
    return merges


def write_tokenizer_json(merges, path):
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for b in range(256):
        vocab[BYTE_CHAR[b]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    added = [{'id': i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
              'normalized': False, 'special': True} for i, s in enumerate(SPECIALS)]
    doc = {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [a + ' ' + b for a, b in merges]},
    }
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f, ensure_ascii=False)


class Encoder:
    """Python twin of the tokenizer.json encoder (used to tokenize the training data)."""

    def __init__(self, path):
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
        self.vocab = doc['model']['vocab']
        self.ranks = {tuple(m.split(' ')): i for i, m in enumerate(doc['model']['merges'])}
        self.cache = {}

    def encode_chunk(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        ids = [self.vocab[p] for p in parts]
        if len(self.cache) < 2_000_000:
            self.cache[word] = ids
        return ids

    def decode(self, ids):
        chars = {i: t for t, i in self.vocab.items()}
        byte_of = {c: b for b, c in BYTE_CHAR.items()}
        return bytes(byte_of[c] for i in ids for c in chars[i]).decode('utf-8')

    def encode(self, text):
        out = []
        for w in chunks(text):
            out.extend(self.encode_chunk(w))
        return out


def main(corpus_jsonl, out_path, vocab_size=8192, sample_bytes=40_000_000):
    import random
    lines = open(corpus_jsonl).readlines()
    random.Random(0).shuffle(lines)
    texts, total = [], 0
    for line in lines:
        t = json.loads(line)['text']
        texts.append(t)
        total += len(t)
        if total >= sample_bytes:
            break
    merges = train(texts, vocab_size)
    write_tokenizer_json(merges, out_path)
    print(json.dumps({'sample_bytes': total, 'merges': len(merges), 'vocab': len(merges) + 256 + len(SPECIALS)}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 8192)
