"""Loss curves as an SVG (no plotting library on this machine): the held-out NLL bound of each training log against
the CPU minutes it had spent.

  plot_curve.py OUT.svg NAME=LOG.jsonl[@START_CPU_MIN] ...

A log continued from another (NEW_SCHEDULE=1) counts its CPU minutes from START_CPU_MIN.
"""
import json, sys

W, H, PAD = 640, 360, 48
COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']


def read(path, start):
    points = []
    for line in open(path):
        row = json.loads(line)
        if 'nll_bound' in row:
            points.append((start + row.get('cpu_min', row.get('cpu_seconds', 0) / 60), row['nll_bound']))
    return points


def main(out, *series):
    curves = []
    for i, spec in enumerate(series):
        name, rest = spec.rsplit('=', 1)  # names may hold '=', paths do not
        path, _, start = rest.partition('@')
        curves.append((name, COLOURS[i % len(COLOURS)], read(path, float(start or 0))))
    xs = [x for _, _, p in curves for x, _ in p]
    ys = [y for _, _, p in curves for _, y in p]
    x0, x1 = 0, max(xs)
    y0, y1 = min(ys) - 0.05, max(ys) + 0.05
    sx = lambda x: PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD)
    sy = lambda y: H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="black"/>',
           f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="black"/>',
           f'<text x="{W / 2}" y="{H - 10}" text-anchor="middle">CPU minutes of training (from the shipped weights)</text>',
           f'<text x="14" y="{H / 2}" transform="rotate(-90 14 {H / 2})" text-anchor="middle">held-out NLL bound (nats/token)</text>']
    for k in range(5):
        y = y0 + k * (y1 - y0) / 4
        svg.append(f'<text x="{PAD - 4}" y="{sy(y) + 4}" text-anchor="end">{y:.2f}</text>')
        x = x0 + k * (x1 - x0) / 4
        svg.append(f'<text x="{sx(x)}" y="{H - PAD + 16}" text-anchor="middle">{x:.0f}</text>')
    for i, (name, colour, points) in enumerate(curves):
        if points:
            path = ' '.join(f'{sx(x):.1f},{sy(y):.1f}' for x, y in points)
            svg.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            svg += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>' for x, y in points]
        svg.append(f'<text x="{W - PAD - 150}" y="{PAD + 16 * i}" fill="{colour}">{name}</text>')
    svg.append('</svg>')
    open(out, 'w').write('\n'.join(svg) + '\n')


if __name__ == '__main__':
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
