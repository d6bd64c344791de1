import os, sys, tempfile, unittest
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tokenizer import Encoder, SPECIALS, train, write_tokenizer_json

EDGE_CASES = [
    'def f(x):\n    return x\n', '\tif (a) {\n\t\tb();\n\t}\n', 'line1\r\nline2\r\n', '\n\n\n  \n', '',
    'const s = "héllo wörld — ünïcödé";', '// 日本語のコメント 🚀👍🏽\n', 'a  =   b    # spaces', '\u00a0\ufeff\u0085x',
]


class TokenizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        corpus = ['def add(a, b):\n    return a + b\n' * 20, 'function f() {\n\treturn 1;\n}\r\n' * 20]
        cls.dir = tempfile.mkdtemp()
        path = os.path.join(cls.dir, 'tokenizer.json')
        write_tokenizer_json(train(corpus, 300), path)
        cls.enc = Encoder(path)

    def test_round_trip_is_exact(self):
        for text in EDGE_CASES:
            self.assertEqual(self.enc.decode(self.enc.encode(text)), text, repr(text))

    def test_specials_come_first_and_never_match_code(self):
        self.assertEqual([self.enc.vocab[s] for s in SPECIALS], [0, 1, 2])
        for s in SPECIALS:
            self.assertIn('\ue000', s)
        self.assertTrue(all(i > 2 for t in EDGE_CASES for i in self.enc.encode(t)))

    def test_merges_compress_repeated_code(self):
        text = 'def add(a, b):\n    return a + b\n'
        self.assertLess(len(self.enc.encode(text)), len(text.encode()) / 2)


if __name__ == '__main__':
    unittest.main()
