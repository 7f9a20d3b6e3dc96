"""The report a vfio-migrate command printed: the last JSON value of a
file that may hold progress records (-j --interval) before it."""
import json


def load(path):
    text = open(path).read()
    dec = json.JSONDecoder()
    at, last = 0, None
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return last
        last, at = dec.raw_decode(text, at)
