# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check mode and storage_info write nothing, not even a state file on first contact."""

from __future__ import annotations

import os


def test_check_mode_on_a_new_simulator_predicts_and_leaves_no_file(tmp_path, module):
    state = tmp_path / "new" / "sim.db"
    result = module("lun", dict(server="sim://%s?create=true" % state, name="db01", size="1G"), check_mode=True)
    assert result["changed"] is True and result["action"] == "create"
    assert result["lun"]["vol_group_name"] == "pool0" and result["lun"]["size"] == 1024 ** 3
    assert not os.path.exists(str(tmp_path / "new"))


def test_storage_info_on_a_new_simulator_shows_the_defaults_and_leaves_no_file(tmp_path, module):
    state = tmp_path / "new" / "sim.db"
    result = module("storage_info", dict(server="sim://%s?create=true" % state))
    assert not result.get("failed"), result
    assert [pool["vol_name"] for pool in result["storage"]["pools"]] == ["pool0", "pool1"]
    assert result["storage"]["luns"] == [] and result["storage"]["filesystems"] == []
    assert not os.path.exists(str(tmp_path / "new"))


def test_the_first_real_run_creates_the_file(tmp_path, module):
    state = tmp_path / "new" / "sim.db"
    result = module("lun", dict(server="sim://%s?create=true" % state, name="db01", size="1G"))
    assert result["changed"] is True
    assert oct(os.stat(str(state)).st_mode & 0o777) == "0o600"
