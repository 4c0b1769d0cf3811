"""sha256 of PIL's RGB pixels for every JPEG under ../shared/images.

Writes test/fixtures/pil_pixels_sha256.json: {relative path: {width, height, sha256, upright}}
where `sha256` hashes Image.open(p).convert('RGB').tobytes() (what libjpeg-turbo decodes) and
`upright` the same after ImageOps.exif_transpose (what tsface's decodeImage returns), with the
upright width and height. Only hashes are committed, never pixels.
Run: /usr/bin/python3 tools/reference/pil_pixels.py
"""
import hashlib
import json
import os

import PIL
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGES = os.path.join(ROOT, '..', 'shared', 'images')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'pil_pixels_sha256.json')

entries = {}
for folder, _, files in sorted(os.walk(IMAGES)):
    for name in sorted(files):
        if not name.lower().endswith(('.jpg', '.jpeg')):
            continue
        path = os.path.join(folder, name)
        with Image.open(path) as im:
            rgb = im.convert('RGB')
            upright = ImageOps.exif_transpose(im).convert('RGB')
        entries[os.path.relpath(path, IMAGES).replace(os.sep, '/')] = {
            'width': rgb.width,
            'height': rgb.height,
            'sha256': hashlib.sha256(rgb.tobytes()).hexdigest(),
            'upright': {'width': upright.width, 'height': upright.height, 'sha256': hashlib.sha256(upright.tobytes()).hexdigest()},
        }

with open(OUT, 'w') as f:
    json.dump({'pillow': PIL.__version__, 'images': entries}, f, indent=1, sort_keys=True)
    f.write('\n')
print(f'{len(entries)} JPEGs -> {os.path.relpath(OUT, ROOT)}')
