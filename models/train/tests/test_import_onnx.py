import os, sys, tempfile, unittest
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np
import onnx
import torch
from onnx import numpy_helper
import export
import import_onnx
from model import DiffusionLM


def int8_tensors(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer if i.name.endswith('_int8')}


class ImportOnnxTest(unittest.TestCase):
    """export → import → export: the shipped weights come back (a fine-tune can start from a shipped model)."""

    def test_round_trip_gives_back_the_shipped_weights(self):
        torch.manual_seed(0)
        model = DiffusionLM(vocab=1100, dim=32, layers=2, heads=2, max_len=512).eval()  # > 1000 rows: fp16 table
        with tempfile.TemporaryDirectory() as tmp:
            shipped, again = os.path.join(tmp, 'shipped'), os.path.join(tmp, 'again')
            os.makedirs(shipped)
            os.makedirs(again)
            export.export_fp32(model, os.path.join(tmp, 'fp32.onnx'))
            export.quantize_int8(os.path.join(tmp, 'fp32.onnx'), os.path.join(shipped, 'model.onnx'))
            export.write_config(model, shipped, 'tiny', {})
            import_onnx.import_model(shipped, os.path.join(tmp, 'imported.pt'))
            imported, _ = export.load_model(os.path.join(tmp, 'imported.pt'))
            for name, p in model.state_dict().items():
                q = imported.state_dict()[name]
                self.assertEqual(p.shape, q.shape, name)
                # int8 per column: at most half a step (max|w| / 127 / 2); the fp16 table and LayerNorms: closer still
                self.assertLessEqual((p - q).abs().max().item(), p.abs().max().item() / 254 + 1e-7, name)
            export.export_fp32(imported, os.path.join(tmp, 'fp32-again.onnx'))
            export.quantize_int8(os.path.join(tmp, 'fp32-again.onnx'), os.path.join(again, 'model.onnx'))
            before, after = int8_tensors(os.path.join(shipped, 'model.onnx')), int8_tensors(os.path.join(again, 'model.onnx'))
            self.assertEqual(sorted(before), sorted(after))
            head = max(before, key=lambda k: before[k].shape[1])  # [dim, vocab]: tied to the fp16 table, may move a step
            for name in before:
                diff = np.abs(before[name].astype(int) - after[name].astype(int)).max()
                self.assertLessEqual(diff, 1 if name == head else 0, name)


if __name__ == '__main__':
    unittest.main()
