import os, sys, unittest
import numpy as np
import torch
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train
from model import DiffusionLM
from tokenizer import MASK_ID, PAD_ID

NEWLINE = 7  # token id that stands for a newline in these tests


def flags(vocab=64):
    f = np.zeros(vocab, dtype=bool)
    f[NEWLINE] = True
    return f


def window(T=64, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.integers(10, 64, T).astype(np.int64)
    w[::8] = NEWLINE
    return w


class ObjectiveTest(unittest.TestCase):
    def test_infill_rows_keep_prefix_and_suffix_and_pad_the_canvas_tail(self):
        rng = np.random.default_rng(1)
        seen_infill = 0
        for seed in range(300):
            w = window(seed=seed)
            tokens, maskable, weight = train.make_row(w, flags(), 0.5, rng)
            self.assertEqual(len(tokens), len(w))
            if maskable.all():
                np.testing.assert_array_equal(tokens, w)  # plain MDLM row
                self.assertTrue((weight == 1).all())
                continue
            seen_infill += 1
            idx = np.nonzero(maskable)[0]
            a, end = idx[0], idx[-1] + 1
            self.assertTrue((np.diff(idx) == 1).all(), 'canvas is one contiguous span')
            np.testing.assert_array_equal(tokens[:a], w[:a])  # prefix untouched
            canvas = tokens[a:end]
            pads = np.nonzero(canvas == PAD_ID)[0]
            if len(pads):  # padding only at the canvas tail
                self.assertTrue((canvas[pads[0]:] == PAD_ID).all())
                answer = canvas[:pads[0]]
                # the end token is a full target, the padding after it a light one, everything else full
                self.assertEqual(weight[a + pads[0]], 1.0)
                np.testing.assert_allclose(weight[a + pads[0] + 1:end], train.PAD_WEIGHT)
                self.assertTrue((weight[:a + pads[0] + 1] == 1).all() and (weight[end:] == 1).all())
            else:
                answer = canvas
                self.assertTrue((weight == 1).all())
            np.testing.assert_array_equal(answer, w[a:a + len(answer)])
            if end < len(w):  # suffix follows the answer in the original text
                suffix = tokens[end:]
                np.testing.assert_array_equal(suffix, w[a + len(answer):a + len(answer) + len(suffix)])
        self.assertGreater(seen_infill, 100)

    def test_only_maskable_positions_are_masked(self):
        rng = np.random.default_rng(2)
        stream = np.concatenate([window(seed=s) for s in range(50)]).astype(np.uint16)
        x0, masked, maskable, t, weight = train.make_batch(stream, flags(), 64, 32, rng)
        self.assertFalse((masked & ~maskable).any())
        self.assertTrue(masked.any())
        self.assertTrue(((t > 0) & (t <= 1)).all())

    def test_loss_ignores_unmasked_targets(self):
        torch.manual_seed(0)
        model = DiffusionLM(64, 16, 1, 2, 128)
        x0 = torch.randint(10, 64, (2, 16))
        masked = torch.zeros(2, 16, dtype=torch.bool)
        masked[:, 4:8] = True
        maskable = torch.ones(2, 16, dtype=torch.bool)
        t = torch.tensor([0.5, 0.5])
        loss_a, _ = train.diffusion_loss(model, x0, masked, maskable, t)
        x1 = x0.clone()
        x1[:, 4:8] = (x1[:, 4:8] + 1) % 64  # change only the hidden targets
        loss_b, _ = train.diffusion_loss(model, x1, masked, maskable, t)
        self.assertNotAlmostEqual(loss_a.item(), loss_b.item(), places=4)
        # manual MDLM value: mean over maskable positions of CE(masked) / t
        xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
        h, _, _ = model.hidden(xt)
        ce = torch.nn.functional.cross_entropy(model.logits(h[masked]), x0[masked], reduction='sum')
        self.assertAlmostEqual(loss_a.item(), (ce / 0.5 / maskable.sum()).item(), places=4)


if __name__ == '__main__':
    unittest.main()


class BlockDiffusionTest(unittest.TestCase):
    def test_infill_rows_feed_suffix_then_prefix_then_middle_and_one_end(self):
        rng = np.random.default_rng(3)
        T, B, seen = 64, 4, 0
        for seed in range(300):
            w = window(T, seed)
            tokens, positions, maskable = train.bd_row(w, flags(), B, rng)
            self.assertEqual((len(tokens), len(positions), len(maskable)), (T, T, T))
            if maskable.all():
                np.testing.assert_array_equal(tokens, w)
                np.testing.assert_array_equal(positions, np.arange(T))
                continue
            seen += 1
            canvas = np.nonzero(maskable)[0]
            self.assertEqual(canvas[-1], T - 1, 'the canvas is last in feed order')
            self.assertTrue((np.diff(canvas) == 1).all())
            start = canvas[0]
            a = int(positions[start])  # the canvas starts right after the prefix
            s = start - a
            self.assertGreaterEqual(s, 1, 'a suffix is fed first')
            np.testing.assert_array_equal(positions[s:start], np.arange(a))  # prefix at its own positions
            np.testing.assert_array_equal(tokens[s:start], w[:a])
            ends = np.nonzero(tokens[start:] == PAD_ID)[0]
            first_end = int(ends[0])
            self.assertTrue((tokens[start + first_end:] == PAD_ID).all(), 'only end tokens after the first')
            self.assertLess(T - (start + first_end) - 1, B, 'end tokens fill only the end block')
            self.assertEqual((start + first_end) // B, (T - 1) // B)
            m = first_end
            np.testing.assert_array_equal(tokens[start:start + m], w[a:a + m])
            np.testing.assert_array_equal(tokens[:s], w[a + m:a + m + s])  # the suffix, in order
            self.assertTrue((np.diff(positions[:s]) == 1).all())
            self.assertGreaterEqual(positions[0], a + m + 1 + (T - start - m - 1), 'suffix sits after the whole canvas')
        self.assertGreater(seen, 80)

    def test_attention_bias_is_block_causal_over_noisy_and_clean_copies(self):
        L, B = 8, 4
        allow = torch.isfinite(train.bd_attention_bias(L, B))
        noisy, clean = range(0, L), range(L, 2 * L)
        for q in range(2 * L):
            for k in range(2 * L):
                qb, kb = (q % L) // B, (k % L) // B
                if q in noisy:
                    want = (k in noisy and kb == qb) or (k in clean and kb < qb)
                else:
                    want = k in clean and kb <= qb
                self.assertEqual(bool(allow[q, k]), want, (q, k))

    def test_one_block_as_long_as_the_window_gives_the_mdlm_bound(self):
        torch.manual_seed(0)
        model = DiffusionLM(64, 32, 2, 2, 1024)
        val = np.concatenate([window(64, s) for s in range(40)]).astype(np.uint16)
        mdlm = train.nll_bound(model, val, 'mdlm', seq_len=32, rows=32, passes=1)
        bd = train.nll_bound(model, val, 'bd', block=32, seq_len=32, rows=32, passes=1)
        self.assertAlmostEqual(mdlm, bd, delta=0.02 * mdlm)
        bd4 = train.nll_bound(model, val, 'bd', block=4, seq_len=32, rows=32, passes=1)
        self.assertTrue(np.isfinite(bd4) and bd4 > 0)

    def test_bd_loss_trains(self):
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        model = DiffusionLM(64, 32, 2, 2, 1024)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        stream = np.concatenate([window(64, s % 5) for s in range(50)]).astype(np.uint16)
        losses = []
        for _ in range(40):
            x0, pos, masked, maskable, t = train.bd_batch(stream, flags(), 32, 16, 4, rng)
            self.assertFalse((masked & ~maskable).any())
            loss, _ = train.bd_loss(model, x0, pos, masked, maskable, t, 4)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        self.assertLess(np.mean(losses[-5:]), np.mean(losses[:5]))

    def test_padding_after_the_end_token_weighs_pad_weight_in_the_loss(self):
        torch.manual_seed(0)
        model = DiffusionLM(64, 16, 1, 2, 128)
        x0 = torch.randint(10, 64, (1, 16))
        x0[0, 8:] = PAD_ID  # answer 4-7, end token at 8, padding 9-15
        masked = torch.zeros(1, 16, dtype=torch.bool)
        masked[0, 4:] = True
        maskable = masked.clone()
        t = torch.tensor([0.5])
        weight = torch.ones(1, 16)
        weight[0, 9:] = 0.25
        loss, _ = train.diffusion_loss(model, x0, masked, maskable, t, weight)
        h, _, _ = model.hidden(torch.where(masked, torch.full_like(x0, MASK_ID), x0))
        ce = torch.nn.functional.cross_entropy(model.logits(h[masked]), x0[masked], reduction='none')
        expected = (ce * weight[masked]).sum() / 0.5 / 12
        self.assertAlmostEqual(loss.item(), expected.item(), places=4)
