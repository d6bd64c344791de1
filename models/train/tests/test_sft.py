import os, sys, unittest
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sft
from tokenizer import MASK_ID, PAD_ID

# A 4-position canvas decoded in three steps. The truth is [10, 11, PAD, PAD]; the decode ends with [10, 12, PAD, PAD].
TRAJECTORY = {
    'prefix_ids': [2, 50], 'suffix_ids': [60], 'canvas_len': 4,
    'steps': [
        {'commits': [[2, PAD_ID, 0.95], [3, PAD_ID, 0.97]],
         'predictions': [[0, 10, 0.6], [1, 12, 0.5], [2, PAD_ID, 0.95], [3, PAD_ID, 0.97]]},
        {'commits': [[0, 10, 0.92]], 'predictions': [[0, 10, 0.92], [1, 11, 0.3]]},
        {'commits': [[1, 12, 0.4]], 'predictions': [[1, 12, 0.4]]},
    ],
}
MIDDLE = [10, 11]


def rows_with(reference):
    return sft.trajectory_rows(TRAJECTORY, MIDDLE, reference)


def rows_with_early_ends(trajectory, early_ends):
    old, sft.EARLY_ENDS = sft.EARLY_ENDS, early_ends
    try:
        return sft.trajectory_rows(trajectory, MIDDLE, 'self')
    finally:
        sft.EARLY_ENDS = old


class TrajectoryRowsTest(unittest.TestCase):
    def test_one_row_per_step_with_the_canvas_as_it_was_before_the_step(self):
        rows = rows_with('truth')
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows[0][0].tolist(), [2, 50, MASK_ID, MASK_ID, MASK_ID, MASK_ID, 60])
        self.assertEqual(rows[1][0].tolist(), [2, 50, MASK_ID, MASK_ID, PAD_ID, PAD_ID, 60])
        self.assertEqual(rows[2][0].tolist(), [2, 50, 10, MASK_ID, PAD_ID, PAD_ID, 60])
        self.assertEqual(rows[2][2].tolist(), [False, False, False, True, False, False, False])

    def test_truth_reference_marks_right_predictions_that_waited(self):
        rows = rows_with('truth')
        # step 1: position 0 predicted the true 10 at 0.6 and waited; position 1 predicted 12 (wrong)
        self.assertEqual(rows[0][3].tolist(), [False, False, True, False, False, False, False])
        # step 2: position 1 predicted the true 11 at 0.3 and waited
        self.assertEqual(rows[1][3].tolist(), [False, False, False, True, False, False, False])
        for r in rows:
            self.assertEqual(r[1].tolist(), [2, 50, 10, 11, PAD_ID, PAD_ID, 60])

    def test_self_reference_trains_stable_predictions_towards_the_decoded_token(self):
        rows = rows_with('self')
        # step 1: position 1 already predicted 12, the token the decode ended with: redundant, target 12
        self.assertEqual(rows[0][3].tolist(), [False, False, True, True, False, False, False])
        self.assertEqual(rows[0][1].tolist(), [2, 50, 10, 12, PAD_ID, PAD_ID, 60])
        # step 2: position 1 predicted 11, not the final 12: not redundant, trained towards the truth
        self.assertFalse(rows[1][3][3])
        self.assertEqual(rows[1][1][3], 11)
        # committed positions are never redundant
        self.assertFalse(rows[2][3].any())

    def test_early_ends_keep_the_truth_only_with_EARLY_ENDS_truth(self):
        # The truth is [10, 11, PAD, PAD]; this decode ends after one token: [10, PAD, PAD, PAD].
        early = {'prefix_ids': [2, 50], 'suffix_ids': [60], 'canvas_len': 4, 'steps': [
            {'commits': [[3, PAD_ID, 0.97]], 'predictions': [[0, 10, 0.6], [1, PAD_ID, 0.5], [2, PAD_ID, 0.8], [3, PAD_ID, 0.97]]},
            {'commits': [[0, 10, 0.95], [1, PAD_ID, 0.9], [2, PAD_ID, 0.9]], 'predictions': [[0, 10, 0.95], [1, PAD_ID, 0.9], [2, PAD_ID, 0.9]]},
        ]}
        rows = rows_with_early_ends(early, 'truth')
        # position 1's PAD (where the truth has 11) waited but is an early end: not redundant, target 11;
        # position 2's PAD is where the answer really ends: redundant, target PAD
        self.assertEqual(rows[0][3].tolist(), [False, False, True, False, True, False, False])
        self.assertEqual(rows[0][1].tolist(), [2, 50, 10, 11, PAD_ID, PAD_ID, 60])
        rows = rows_with_early_ends(early, 'self')
        # EARLY_ENDS=self (the default) distils the early PAD too
        self.assertEqual(rows[0][3].tolist(), [False, False, True, True, True, False, False])
        self.assertEqual(rows[0][1].tolist(), [2, 50, 10, PAD_ID, PAD_ID, PAD_ID, 60])

    def test_EARLY_ENDS_empty_keeps_the_truth_only_for_an_answer_that_is_nothing(self):
        # The truth is [10, 11, PAD, PAD]; decode A ends after one token, decode B answers nothing at all.
        def decode(first):
            return {'prefix_ids': [2, 50], 'suffix_ids': [60], 'canvas_len': 4, 'steps': [
                {'commits': [[3, PAD_ID, 0.97]], 'predictions': [[0, first, 0.6], [1, PAD_ID, 0.5], [2, PAD_ID, 0.8], [3, PAD_ID, 0.97]]},
                {'commits': [[0, first, 0.95], [1, PAD_ID, 0.9], [2, PAD_ID, 0.9]], 'predictions': [[0, first, 0.95], [1, PAD_ID, 0.9], [2, PAD_ID, 0.9]]},
            ]}
        rows = rows_with_early_ends(decode(10), 'empty')
        self.assertEqual(rows[0][1].tolist(), [2, 50, 10, PAD_ID, PAD_ID, PAD_ID, 60])  # short answer: distilled
        rows = rows_with_early_ends(decode(PAD_ID), 'empty')
        self.assertEqual(rows[0][1].tolist(), [2, 50, 10, 11, PAD_ID, PAD_ID, 60])  # empty answer: the truth
        self.assertEqual(rows[0][3].tolist(), [False, False, False, False, True, False, False])

    def test_a_per_file_reference_overrides_the_global_one(self):
        truth_rows = rows_with('truth')
        old = sft.REFERENCE, sft.TRUTH_TRAJECTORIES
        sft.REFERENCE, sft.TRUTH_TRAJECTORIES = 'self', {os.path.abspath('lines.jsonl')}
        try:
            self.assertEqual(sft.reference_for('other.jsonl'), 'self')
            rows = sft.trajectory_rows(TRAJECTORY, MIDDLE, sft.reference_for('lines.jsonl'))
        finally:
            sft.REFERENCE, sft.TRUTH_TRAJECTORIES = old
        for got, want in zip(rows, truth_rows):
            self.assertEqual(got[1].tolist(), want[1].tolist())
            self.assertEqual(got[3].tolist(), want[3].tolist())

    def test_tail_marks_the_padding_behind_the_answers_end_token(self):
        rows = rows_with('truth')
        # the truth is [10, 11, PAD, PAD]: position 2 is the end token (a full target), position 3 the padding behind it
        self.assertEqual(rows[0][4].tolist(), [False, False, False, False, False, True, False])
        self.assertFalse(rows[1][4].any(), 'committed positions are not in the loss, so not in the tail')
        # an answer as long as the canvas has no tail
        self.assertFalse(any(r[4].any() for r in sft.trajectory_rows(TRAJECTORY, [10, 11, 12, 13], 'truth')))


class SftLossTest(unittest.TestCase):
    class FixedLogits:
        """A stand-in model whose logits at each position are given (so the cross-entropy per position is known)."""
        def __init__(self, logits):
            self.fixed = logits

        def hidden(self, tokens):
            return self.fixed.expand(tokens.shape[0], -1, -1), None, None

        def logits(self, h):
            return h

    def test_the_tail_counts_PAD_WEIGHT_and_redundant_positions_REDUNDANT_WEIGHT(self):
        torch = sft.torch
        V = 8
        logits = torch.randn(1, 4, V, generator=torch.Generator().manual_seed(0))
        tokens = torch.zeros(1, 4, dtype=torch.long)
        targets = torch.tensor([[3, 5, PAD_ID, PAD_ID]])
        masked = torch.tensor([[False, True, True, True]])
        redundant = torch.tensor([[False, True, False, False]])
        tail = torch.tensor([[False, False, False, True]])
        ce = sft.F.cross_entropy(logits[0], targets[0], reduction='none')
        w = [sft.REDUNDANT_WEIGHT, 1.0, sft.PAD_WEIGHT]
        want = (ce[1] * w[0] + ce[2] * w[1] + ce[3] * w[2]) / sum(w)
        got = sft.sft_loss(self.FixedLogits(logits), tokens, targets, masked, redundant, tail)
        self.assertAlmostEqual(got.item(), want.item(), places=5)
        self.assertLess(sft.PAD_WEIGHT, 1.0)


if __name__ == '__main__':
    unittest.main()
