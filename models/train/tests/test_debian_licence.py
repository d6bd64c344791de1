"""Licence reading of Debian (DEP-5) copyright files, on small inline examples."""
import os, sys, unittest
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from corpus import debian_licence_expr, debian_package_licence, under_refused_pattern

HEADER = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: demo\n\n'


def copyright_file(*stanzas):
    return HEADER + '\n\n'.join(f'Files: {files}\nCopyright: someone\nLicense: {lic}' for files, lic in stanzas) + \
        '\n\nLicense: Expat\n Permission is hereby granted...\n'


class DebianLicenceTest(unittest.TestCase):
    def test_debian_names_map_to_ours(self):
        self.assertEqual(debian_licence_expr('Expat'), 'MIT')
        self.assertEqual(debian_licence_expr('BSD-3-clause'), 'BSD-3-Clause')
        self.assertEqual(debian_licence_expr('Apache-2.0 or Expat'), 'Apache-2.0 OR MIT')
        self.assertEqual(debian_licence_expr('PSF-2'), 'PSF-2.0')
        self.assertIsNone(debian_licence_expr('  '))

    def test_files_star_decides_the_package(self):
        for lic, want in [('Expat', 'MIT'), ('BSD-2-clause', 'BSD-2-Clause'), ('Apache-2', 'Apache-2.0'),
                          ('ISC', 'ISC'), ('Python', 'PSF-2.0'), ('Apache-2.0 or Expat', 'Apache-2.0 OR MIT')]:
            self.assertEqual(debian_package_licence(copyright_file(('*', lic)))[0], want, lic)

    def test_copyleft_and_unclear_licences_are_refused(self):
        for lic in ['GPL-2+', 'LGPL-2.1', 'MPL-2.0', 'MPLv2.0', 'BSD', 'Apache', 'MIT-style', 'public-domain', '',
                    'MPL-2.0 and Expat', 'GPL-3+ with exception']:
            self.assertIsNone(debian_package_licence(copyright_file(('*', lic)))[0], lic)

    def test_choice_with_one_permissive_option_is_allowed(self):
        lic, refused = debian_package_licence(copyright_file(('*', 'BSD-3-clause'), ('amqp/*', 'BSD-3-clause or LGPL-2.1+')))
        self.assertEqual((lic, refused), ('BSD-3-Clause', []))

    def test_not_machine_readable_is_refused(self):
        self.assertEqual(debian_package_licence('This package was debianized by X.\nLicense: BSD\n'), (None, []))

    def test_other_stanzas_with_refused_licences_drop_their_files(self):
        text = copyright_file(('*', 'Expat'), ('debian/*', 'GPL-2+'), ('src/pkg/porter.py\n pkg/ext/*', 'GPL-3'),
                              ('pkg/ok.py', 'BSD-3-clause'))
        lic, refused = debian_package_licence(text)
        self.assertEqual(lic, 'MIT')
        self.assertEqual(refused, ['debian/*', 'src/pkg/porter.py', 'pkg/ext/*'])
        self.assertTrue(under_refused_pattern('pkg/porter.py', refused))
        self.assertTrue(under_refused_pattern('pkg/ext/deep/mod.py', refused))
        self.assertFalse(under_refused_pattern('pkg/ok.py', refused))
        self.assertFalse(under_refused_pattern('pkg/core.py', refused))


if __name__ == '__main__':
    unittest.main()
