import hashlib
import sys

md5 = hashlib.md5()
for chunk in sys.stdin.buffer.read():
    md5.update(chunk)
sys.stdout.buffer.write(md5.hexdigest().encode())
