#!/usr/bin/env bash
# The eval world restores the fixture after a change; nothing else to undo.
true
