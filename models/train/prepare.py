"""Stage 3: tokenize the corpus into flat uint16 streams (train.bin / val.bin); each file starts with BOS."""
import json, os, sys
import numpy as np
from tokenizer import BOS_ID, Encoder

HERE = os.path.dirname(os.path.abspath(__file__))


def encode_split(encoder, src, dst):
    ids = []
    for line in open(src):
        ids.append(BOS_ID)
        ids.extend(encoder.encode(json.loads(line)['text']))
    arr = np.array(ids, dtype=np.uint16)
    arr.tofile(dst)
    return len(arr)


def main(tokenizer_json, corpus_dir, out_dir):
    enc = Encoder(tokenizer_json)
    stats = {}
    for split in ('train', 'val'):
        n = encode_split(enc, os.path.join(corpus_dir, split + '.jsonl'), os.path.join(out_dir, split + '.bin'))
        stats[split + '_tokens'] = n
    chars = sum(len(json.loads(l)['text']) for l in open(os.path.join(corpus_dir, 'val.jsonl')))
    stats['val_chars_per_token'] = round(chars / stats['val_tokens'], 3)
    print(json.dumps(stats))


if __name__ == '__main__':
    main(*sys.argv[1:4])
