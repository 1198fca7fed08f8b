# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stormgmt-plugin-flaky: the reference plug-in (jsonfile), failing on purpose.

Reads are served by the reference plug-in from the same state file; each write fails
before it touches anything, in the way the LUN name asks for:
  crash-*    exits with status 3 after a message on stderr
  garbage-*  writes a line that is not JSON to stdout
  hang-*     does not answer (the task sets ?plugin_timeout=2)
  bad-*      answers a record with a malformed field (size as a string)
  alien-*    answers an error class the collection does not know
FLAKY_REFERENCE names the directory of stormgmt_plugin_jsonfile.py.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.environ["FLAKY_REFERENCE"])
import stormgmt_plugin_jsonfile as reference  # noqa: E402  pylint: disable=wrong-import-position,import-error


class Flaky(reference.JsonFileArray):
    def rpc_plugin_info(self, api_version=None):
        return dict(super().rpc_plugin_info(api_version), name="flaky")

    def rpc_create_lun(self, name, pool, size, thin, qos):
        if name.startswith("crash-"):
            sys.stderr.write("flaky: the array controller caught fire while creating %s\n" % name)
            sys.stderr.flush()
            os._exit(3)
        if name.startswith("garbage-"):
            sys.stdout.write("Creating LUN %s... done!\n" % name)
            sys.stdout.flush()
            time.sleep(1)
            return None
        if name.startswith("hang-"):
            time.sleep(3600)
        if name.startswith("bad-"):
            return {"name": name, "uuid": "0", "se_type": "LUN", "size": "%d bytes" % size, "access_grp_names": [],
                    "state": "ONLINE", "status": "OK"}
        if name.startswith("alien-"):
            raise reference.PluginError("DiskOnFireEx", "LUN '%s': the disk is on fire" % name)
        return super().rpc_create_lun(name, pool, size, thin, qos)


if __name__ == "__main__":
    sys.exit(reference.serve(Flaky()))
