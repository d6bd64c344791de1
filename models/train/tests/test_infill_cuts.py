import os, random, sys, unittest
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from make_infill_set import make_task

SOURCE = '\n'.join([
    'import os',
    '',
    'def total(values):',
    '    result = 0',
    '    for value in values:',
    '        result += value',
    '    return result',
    '',
    'print(total([1, 2]))',
    '',
])


class InfillCutsTest(unittest.TestCase):
    def cuts(self, kind):
        tasks = [make_task(SOURCE, random.Random(seed), kind) for seed in range(40)]
        return [t for t in tasks if t]

    def test_every_cut_puts_the_file_back_together(self):
        for kind in ('rest-of-line', 'line', 'block', 'lines'):
            for t in self.cuts(kind):
                self.assertEqual(t['prefix'] + t['middle'] + t['suffix'], SOURCE, kind)

    def test_line_cuts_start_after_the_indentation_and_stop_before_the_line_break(self):
        for t in self.cuts('line'):
            self.assertFalse(t['middle'].startswith(' '))
            self.assertNotIn('\n', t['middle'])

    def test_lines_cuts_hold_whole_lines_with_indentation_and_line_breaks(self):
        cuts = self.cuts('lines')
        self.assertTrue(cuts)
        for t in cuts:
            self.assertTrue(t['prefix'].endswith('\n'))
            self.assertTrue(t['middle'].endswith('\n'))
            self.assertLessEqual(t['middle'].count('\n'), 4)
        self.assertTrue(any(t['middle'].startswith('    ') for t in cuts), 'indented lines keep their indentation')


if __name__ == '__main__':
    unittest.main()
