"""Small training sets copied from the real embedded files (data/samples,
the VOC fixture built from them), one per mask source, with the train
dataset config of its shipped config; and the ways the campaign of
test_bad_inputs.py damages them (each damage edits a copy, never data/)."""
import json
import os
import os.path as osp
import re
import shutil

import cv2
import numpy as np
from PIL import Image

from blitznet_mm.testing.builders import config_path
from blitznet_mm.testing.voc_layout import build_voc_fixture

NUM_IMAGES = 3  # per set: the damaged image and two intact ones
ANN = 'annotations/instances_train2017.json'


# --------------------------------------------------------------- the sets
def _shipped(config: str):
    """The train dataset config of a shipped config (pipeline included)."""
    from mmengine.config import Config
    return Config.fromfile(config_path(config)).train_dataloader.dataset


def _subset_json(coco_mini: str, dst: str) -> dict:
    from blitznet_mm.datasets import coco_subset
    os.makedirs(osp.dirname(dst), exist_ok=True)
    src = osp.join(coco_mini, ANN)
    with open(src) as f:
        ids = sorted(i['id'] for i in json.load(f)['images'])
    coco_subset(src, dst, image_ids=ids[:NUM_IMAGES])
    with open(dst) as f:
        return json.load(f)


def _copy_images(coco_mini: str, coco: dict, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    for img in coco['images']:  # copies: a damage must never reach data/
        shutil.copy(osp.join(coco_mini, 'train2017', img['file_name']), dst)


def _target(coco: dict) -> tuple:
    """The first image and its first polygon, non-crowd annotation."""
    img = min(coco['images'], key=lambda i: i['id'])
    ann = next(a for a in coco['annotations'] if a['image_id'] == img['id']
               and not a['iscrowd'] and isinstance(a['segmentation'], list))
    return img, ann


def build_coco(coco_mini, root):
    coco = _subset_json(coco_mini, osp.join(root, ANN))
    _copy_images(coco_mini, coco, osp.join(root, 'train2017'))
    img, ann = _target(coco)
    cfg = _shipped('blitznet300_coco.py')
    cfg.data_root = root
    return cfg, dict(
        ann=osp.join(root, ANN),
        ann_id=ann['id'],
        img=osp.join(root, 'train2017', img['file_name']),
        img_id=img['id'])


def build_stuff(coco_mini, root):
    from mmseg.datasets import COCOStuffDataset

    from blitznet_mm.testing import write_coco_stuff_pngs
    names = COCOStuffDataset.METAINFO['classes']
    ann = osp.join(root, 'coco', ANN)
    coco = _subset_json(coco_mini, ann)
    _copy_images(coco_mini, coco, osp.join(root, 'coco', 'train2017'))
    pngs = write_coco_stuff_pngs(
        ann,
        osp.join(root, 'coco_stuff164k', 'annotations', 'train2017'),
        lambda c: names.index(c['name']),
        stuff_label=names.index('sky-other'))
    img, _ = _target(coco)
    cfg = _shipped('blitznet300_coco_stuff.py')
    cfg.data_root = root
    return cfg, dict(
        ann=ann,
        img=osp.join(root, 'coco', 'train2017', img['file_name']),
        mask=pngs[img['file_name']])


def build_panoptic(coco_mini, root):
    from mmdet.datasets import CocoPanopticDataset

    from blitznet_mm.testing import write_coco_panoptic
    coco = _subset_json(coco_mini, osp.join(root, '_instances.json'))
    _copy_images(coco_mini, coco, osp.join(root, 'train2017'))
    pan_json = osp.join(root, 'annotations', 'panoptic_train2017.json')
    pan = write_coco_panoptic(
        osp.join(root, '_instances.json'), pan_json,
        osp.join(root, 'annotations', 'panoptic_train2017'),
        CocoPanopticDataset.METAINFO['stuff_classes'], 'wall-other-merged')
    img, _ = _target(coco)
    seg = next(a for a in pan['annotations'] if a['image_id'] == img['id'])
    cfg = _shipped('blitznet300_coco_panoptic.py')
    cfg.data_root = root
    return cfg, dict(
        ann=pan_json,
        img_id=img['id'],
        img=osp.join(root, 'train2017', img['file_name']),
        mask=osp.join(root, 'annotations', 'panoptic_train2017',
                      seg['file_name']))


def build_voc(coco_mini, root):
    info = build_voc_fixture(
        coco_mini, root, num_images=NUM_IMAGES, with_mask_every=1)
    jpegs = osp.join(root, 'VOC2012', 'JPEGImages')
    for name in os.listdir(jpegs):  # the fixture links to data/samples
        src = osp.realpath(osp.join(jpegs, name))
        os.remove(osp.join(jpegs, name))
        shutil.copy(src, osp.join(jpegs, name))
    cfg = _shipped('blitznet300_voc.py')
    # the joint set's segmentation part (VOC12 train-aug) on the fixture
    part = dict(
        cfg.datasets[1],
        data_root=root,
        ann_file='VOC2012/ImageSets/Main/trainval.txt')
    cfg.datasets = [part]
    first = info['ids'][0]
    voc = osp.join(root, 'VOC2012')
    return cfg, dict(
        list=osp.join(voc, 'ImageSets', 'Main', 'trainval.txt'),
        img=osp.join(voc, 'JPEGImages', first + '.jpg'),
        xml=osp.join(voc, 'Annotations', first + '.xml'),
        mask=osp.join(voc, 'SegmentationClass', first + '.png'))


def build_seg_folder(coco_mini, root):
    from blitznet_mm.testing import write_coco_stuff_pngs
    coco = _subset_json(coco_mini, osp.join(root, '_instances.json'))
    imgs = osp.join(root, 'img_dir', 'train')
    _copy_images(coco_mini, coco, imgs)
    # masks of the blur config's classes: 0 sharp, 1 motion, 2 defocus
    pngs = write_coco_stuff_pngs(
        osp.join(root, '_instances.json'),
        osp.join(root, 'ann_dir', 'train'),
        lambda c: 1 + c['id'] % 2,
        suffix='.png',
        stuff_label=0)
    img, _ = _target(coco)
    cfg = _shipped('blur/blitznet300_blur_seg.py')
    cfg.data_root = root
    return cfg, dict(
        img=osp.join(imgs, img['file_name']), mask=pngs[img['file_name']])


BUILDERS = dict(
    coco=build_coco,
    stuff=build_stuff,
    panoptic=build_panoptic,
    voc=build_voc,
    seg_folder=build_seg_folder)


# -------------------------------------------------------------- damages
def write(path, data: bytes):
    if osp.lexists(path):
        os.remove(path)  # never write through a link
    with open(path, 'wb') as f:
        f.write(data)


def read(path) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def edit_json(path, fn):
    with open(path) as f:
        d = json.load(f)
    fn(d)
    write(path, json.dumps(d).encode())  # NaN is written as NaN


def coco_ann(t, d):
    return next(a for a in d['annotations'] if a['id'] == t['ann_id'])


def add_coco_ann(**change):
    """A copy of the target annotation (new id) with ``change``."""

    def damage(t):

        def fn(d):
            a = dict(coco_ann(t, d), id=10**9, **change)
            d['annotations'].append(a)

        edit_json(t['ann'], fn)

    return damage


def set_coco_ann(**change):
    return lambda t: edit_json(t['ann'], lambda d: coco_ann(t, d).update(change
                                                                         ))


def image_entry(t, d):
    name = osp.basename(t['img'])
    return next(i for i in d['images'] if i['file_name'] == name)


def add_voc_object(name, box):
    obj = (f'<object><name>{name}</name><difficult>0</difficult><bndbox>' +
           ''.join(f'<{k}>{v}</{k}>'
                   for k, v in zip(('xmin', 'ymin', 'xmax', 'ymax'), box)
                   if v is not None) + '</bndbox></object>')

    def damage(t):
        text = read(t['xml']).decode()
        write(t['xml'],
              text.replace('</annotation>', obj + '</annotation>').encode())

    return damage


def edit_xml(old, new):

    def damage(t):
        text = read(t['xml']).decode()
        write(t['xml'], re.sub(old, new, text, count=1).encode())

    return damage


def edit_mask(fn, mode=None):
    """Rewrite the target mask PNG as ``fn(array)`` (same mode unless
    ``mode``; ``'infer'``: from the array's type); palette PNGs keep their
    palette."""

    def damage(t):
        png = Image.open(t['mask'])
        arr = fn(np.array(png))
        out = Image.fromarray(arr) if mode == 'infer' else \
            Image.fromarray(arr, mode=mode or png.mode)
        if out.mode == 'P':
            out.putpalette(png.getpalette())
        os.remove(t['mask'])
        out.save(t['mask'])

    return damage


def truncate(key, keep=0.5):

    def damage(t):
        data = read(t[key])
        write(t[key], data[:int(len(data) * keep)])

    return damage


def append(key, data: bytes):
    return lambda t: write(t[key], read(t[key]) + data)


def both(*damages):

    def damage(t):
        for d in damages:
            d(t)

    return damage


def empty(key):
    return lambda t: write(t[key], b'')


def html(key):
    return lambda t: write(t[key], b'<html><body>404 Not Found</body>'
                           b'</html>\n')


def remove(key):
    return lambda t: os.remove(t[key])


def corrupt_jpeg(t):
    """A JPEG whose start and end markers are intact but whose headers
    (the first 600 bytes after SOI) are noise."""
    data = bytearray(read(t['img']))
    data[2:602] = np.random.default_rng(0).integers(
        0, 256, 600, dtype=np.uint8).tobytes()
    write(t['img'], bytes(data))


def pil_resave(fn, **save):

    def damage(t):
        im = Image.open(t['img'])
        out = fn(im)
        os.remove(t['img'])
        out.save(t['img'], **save)

    return damage


def to_16bit_png(t):
    """The image as a 16-bit RGB PNG (value * 257), the json naming it."""
    bgr = cv2.imread(t['img'])
    png = osp.splitext(t['img'])[0] + '.png'
    cv2.imwrite(png, bgr.astype(np.uint16) * 257)
    os.remove(t['img'])

    def fn(d):
        image_entry(t, d)['file_name'] = osp.basename(png)

    edit_json(t['ann'], fn)
    t['img'] = png


def exif_rotated(json_size):
    """The pixels stored rotated by 90 degrees with EXIF orientation 6
    (display: rotate back), as cameras write portrait photos. The json
    gives the displayed size (as annotation tools show the image) or,
    with ``json_size='stored'``, the stored one."""

    def damage(t):
        im = Image.open(t['img'])
        exif = Image.Exif()
        exif[0x0112] = 6
        stored = im.transpose(Image.Transpose.ROTATE_90)
        os.remove(t['img'])
        stored.save(t['img'], exif=exif, quality=95)
        if json_size == 'stored':

            def fn(d):
                e = image_entry(t, d)
                e['width'], e['height'] = stored.size

            edit_json(t['ann'], fn)

    return damage


def size_in_json(dw):

    def fn_for(t):

        def fn(d):
            image_entry(t, d)['width'] += dw

        edit_json(t['ann'], fn)

    return fn_for


def panoptic_segment(change):

    def damage(t):

        def fn(d):
            ann = next(a for a in d['annotations']
                       if a['image_id'] == t['img_id'])
            seg = next(s for s in ann['segments_info']
                       if s['category_id'] < 1000)  # a thing
            change(ann, seg)

        edit_json(t['ann'], fn)

    return damage


def add_thing_segment(bbox):
    """A copy of a thing segment (absent from the PNG) with ``bbox``."""
    return panoptic_segment(lambda ann, seg: ann['segments_info'].append(
        dict(seg, id=seg['id'] + 500, bbox=bbox)))
