"""The per-stage latency figure of the report (benchmark.png)."""
import os.path as osp

from .models import STAGES


def write_figure(res, out_dir, batch='1'):
    """Stacked bars: ms per image by stage, one bar per model and path, at
    ``batch``; returns the PNG path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [(f'{r["model"]} | {p}', byb[batch]['stages_s'])
            for r in res['inference'] for p, byb in r['paths'].items()
            if batch in byb]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.5))
    colors = plt.get_cmap('tab10').colors
    for i, (_, stages) in enumerate(rows):
        left = 0.
        for j, s in enumerate(STAGES):
            ms = stages.get(s, 0.) * 1e3
            ax.barh(
                i,
                ms,
                left=left,
                color=colors[j],
                label=s if i == 0 or s not in ax.get_legend_handles_labels()[1]
                else None)
            left += ms
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f'ms per image (batch {batch}), median')
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    ax.legend([seen[s] for s in STAGES if s in seen],
              [s for s in STAGES if s in seen],
              fontsize=7,
              loc='lower right')
    ax.set_title(
        f'Per-stage latency ({res["machine"]["cpu"]}, '
        f'{res["machine"]["device"]})',
        fontsize=9)
    fig.tight_layout()
    path = osp.join(out_dir, 'benchmark.png')
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
