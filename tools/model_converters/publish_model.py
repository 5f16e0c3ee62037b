"""Prepare a training checkpoint for publishing, as mmdet's
tools/model_converters/publish_model.py: keep only ``meta`` and
``state_dict`` (the optimizer state, message hub and scheduler go, about
two thirds of an Adam checkpoint) and add the first 8 hex digits of the
file's SHA-256 to its name.

    python tools/model_converters/publish_model.py \\
        work_dirs/blitznet300_coco/iter_700000.pth blitznet300_coco.pth
    # -> blitznet300_coco-<sha256[:8]>.pth

Differences from mmdet's tool, and why: the input is read with
blitznet_mm's safe loader (torch >= 2.6 refuses mmengine checkpoints with
plain ``torch.load``; ours accepts exactly what a runner checkpoint holds
and checks the zip CRCs first); the output keeps torch's zip format (its
CRCs let the loader catch a corrupted download; mmdet writes the legacy
format for torch < 1.6, which this package does not support); the hash is
computed in Python (no ``sha256sum`` binary needed).
"""
import argparse
import hashlib
import os
import sys

from mmengine.logging import print_log
from mmengine.runner.checkpoint import save_checkpoint

from blitznet_mm.utils import load_checkpoint_file


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in ``chunk``-byte pieces."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def process_checkpoint(in_file: str,
                       out_file: str,
                       save_keys=('meta', 'state_dict')) -> str:
    """Writes ``<out_file stem>-<sha256[:8]>.pth`` with only ``save_keys``.

    Returns:
        str: the path written.

    Raises:
        FileNotFoundError, blitznet_mm.utils.CheckpointError: ``in_file`` is
            missing, corrupt or unsafe (the message names it).
        ValueError: ``in_file`` is not a runner checkpoint dict with a
            ``state_dict``, or ``out_file`` does not end with ``.pth``.
    """
    if not out_file.endswith('.pth'):
        raise ValueError(f'{out_file}: the published file must end with '
                         '.pth (the hash goes before it)')
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file}: not a runner checkpoint (a dict with '
                         '"state_dict"); nothing to publish')
    for k in list(checkpoint):
        if k not in save_keys:
            print_log(
                f'Key `{k}` will be removed because it is not in '
                'save_keys. If you want to keep it, please set '
                '--save-keys.',
                logger='current')
            checkpoint.pop(k)
    tmp = out_file + '.tmp'
    save_checkpoint(checkpoint, tmp)
    final = f'{out_file[:-len(".pth")]}-{sha256_of(tmp)[:8]}.pth'
    os.replace(tmp, final)  # atomic: no half-written published file
    print_log(f'The published model is saved at {final}.', logger='current')
    return final


def main():
    parser = argparse.ArgumentParser(
        description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename (.pth)')
    parser.add_argument(
        '--save-keys',
        nargs='+',
        type=str,
        default=['meta', 'state_dict'],
        help='keys to save in the published checkpoint')
    args = parser.parse_args()
    try:
        process_checkpoint(args.in_file, args.out_file, args.save_keys)
    except (OSError, ValueError, RuntimeError) as e:
        sys.exit(f'publish_model: {e}')


if __name__ == '__main__':
    main()
