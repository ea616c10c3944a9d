"""The day-0 drive: written with pycdlib, read back with pycdlib, every file compared."""

import io
import json

import pycdlib
import pytest

from nfvo.domain.nfvis.day0 import render
from nfvo.domain.nfvis.iso import drive_files, write_iso
from nfvo.domain.nfvis.properties import parse_properties
from nfvo.errors import ValidationFailed
from tests.unit.domain.nfvis import samples


def read_back(image: bytes) -> tuple[str, dict[str, bytes], dict[str, bytes], list[str]]:
    """(volume label, Rock Ridge path -> bytes, Joliet path -> bytes, plain ISO 9660 paths) of an image."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    try:
        label = iso.pvd.volume_identifier.decode().strip()
        rock, joliet, plain = {}, {}, []
        for folder, _, names in iso.walk(rr_path="/"):
            for name in names:
                path = f"{folder.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=path)
                rock[path.lstrip("/")] = out.getvalue()
        for folder, _, names in iso.walk(joliet_path="/"):
            for name in names:
                path = f"{folder.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, joliet_path=path)
                joliet[path.lstrip("/")] = out.getvalue()
        for folder, _, names in iso.walk(iso_path="/"):
            plain += [f"{folder.rstrip('/')}/{name}" for name in names]
        return label, rock, joliet, sorted(plain)
    finally:
        iso.close()


def router_files() -> list[dict]:
    properties, _ = parse_properties(samples.ROUTER_PROPERTIES)
    return render(properties, {"iosxe_config.txt": samples.ROUTER_CONFIG},
                  {"properties": {"HOSTNAME": "edge-1", "SSH_PASSWORD": "pw"},
                   "nics": [{"ip": "10.0.0.5", "netmask": "255.255.255.0", "gateway": "10.0.0.1"}]})["files"]


def test_config_drive_of_the_router():
    files = router_files()
    out = io.BytesIO()
    written = write_iso(files, out, instance_id="7d1e4f2a-0000-4000-8000-000000000001", hostname="edge-1")
    assert written == ["iosxe_config.txt", "openstack/content/0000", "openstack/latest/meta_data.json"]
    label, rock, joliet, plain = read_back(out.getvalue())
    assert label == "config-2"
    config = files[0]["content"].encode()
    assert rock["iosxe_config.txt"] == config and rock["openstack/content/0000"] == config
    assert json.loads(rock["openstack/latest/meta_data.json"]) == {
        "uuid": "7d1e4f2a-0000-4000-8000-000000000001", "hostname": "edge-1", "name": "edge-1",
        "files": [{"path": "/iosxe_config.txt", "content_path": "/content/0000"}]}
    assert joliet == rock
    assert plain == ["/IOSXE_CO.TXT;1", "/OPENSTAC/CONTENT/0000.;1", "/OPENSTAC/LATEST/META_DAT.JSO;1"]


def test_config_drive_keeps_openstack_paths_and_merges_a_rendered_meta_data():
    files = [
        {"mountPoint": "/openstack/latest/user_data", "name": "cloudinit.cfg", "content": "#cloud-config\n"},
        {"mountPoint": "/openstack/latest/meta_data.json", "name": "meta.json",
         "content": json.dumps({"hostname": "a", "files": [{"path": "/x", "content_path": "/content/0009"}]})},
        {"mountPoint": "/ciscosdwan_cloud_init.cfg", "name": "sdwan.cfg", "content": "otp x\n"},
        {"mountPoint": "/etc/very-long-configuration-file-name.conf", "name": "etc.conf", "content": "ü\n"},
    ]
    out = io.BytesIO()
    write_iso(files, out, instance_id="id-1")
    _, rock, joliet, _ = read_back(out.getvalue())
    assert rock == joliet
    assert rock["openstack/latest/user_data"] == b"#cloud-config\n"
    assert rock["ciscosdwan_cloud_init.cfg"] == b"otp x\n" and rock["openstack/content/0000"] == b"otp x\n"
    assert rock["etc/very-long-configuration-file-name.conf"] == "ü\n".encode()
    assert json.loads(rock["openstack/latest/meta_data.json"]) == {"hostname": "a", "uuid": "id-1", "files": [
        {"path": "/x", "content_path": "/content/0009"},
        {"path": "/ciscosdwan_cloud_init.cfg", "content_path": "/content/0000"},
        {"path": "/etc/very-long-configuration-file-name.conf", "content_path": "/content/0001"}]}


def test_nocloud_drive():
    properties, _ = parse_properties(samples.NOCLOUD_PROPERTIES)
    answer = render(properties, {"cloud-config.yaml": samples.NOCLOUD_USER_DATA},
                    {"nics": [{"ip": "192.0.2.7", "netmask": "255.255.255.192"}]})
    out = io.BytesIO()
    assert write_iso(answer["files"], out, nocloud=properties.nocloud, instance_id="probe-1",
                     hostname="probe-1") == ["meta-data", "user-data"]
    label, rock, joliet, _ = read_back(out.getvalue())
    assert label == "cidata"
    assert rock == joliet == {"user-data": answer["files"][0]["content"].encode(),
                              "meta-data": b"instance-id: probe-1\nlocal-hostname: probe-1\n"}


def test_nocloud_maps_config_drive_names_and_adds_an_empty_user_data():
    files = [{"mountPoint": "/openstack/latest/meta_data.json", "name": "m", "content": '{"instance-id": "x"}'},
             {"mountPoint": "network-config", "name": "n", "content": "version: 2\n"}]
    placed = drive_files(files, nocloud=True)
    assert placed == {"meta-data": b'{"instance-id": "x"}', "network-config": b"version: 2\n", "user-data": b""}


def test_a_meta_data_that_is_not_json_is_kept_when_there_is_nothing_to_add():
    files = [{"mountPoint": "/openstack/latest/meta_data.json", "name": "m", "content": "not json"}]
    assert drive_files(files)["openstack/latest/meta_data.json"] == b"not json"
    with pytest.raises(ValidationFailed) as caught:
        drive_files(files + [{"mountPoint": "a.txt", "name": "a.txt", "content": "a"}])
    assert caught.value.errors[0].file == "m"


@pytest.mark.parametrize("files, words", [
    ([{"mountPoint": "a", "name": "one", "content": ""}, {"mountPoint": "/a", "name": "two", "content": ""}],
     "'two' and 'one' are both written at a"),
    ([{"mountPoint": "/user-data", "name": "one", "content": ""},
      {"mountPoint": "/openstack/latest/user_data", "name": "two", "content": ""}], "both written at user-data"),
    ([{"mountPoint": "etc", "name": "one", "content": ""}, {"mountPoint": "etc/x", "name": "two", "content": ""}],
     "'one' is written at etc, where etc/x needs a folder"),
])
def test_collisions_on_the_drive_are_refused(files, words):
    nocloud = "user-data" in words
    with pytest.raises(ValidationFailed) as caught:
        drive_files(files, nocloud=nocloud)
    assert words in caught.value.errors[0].message


def test_plain_iso_names_are_unique_per_folder():
    files = [{"mountPoint": f"/conf/settings-{n}.cfg", "name": f"s{n}", "content": str(n)} for n in range(12)]
    out = io.BytesIO()
    write_iso(files, out, instance_id="x")
    _, rock, _, plain = read_back(out.getvalue())
    assert {rock[f"conf/settings-{n}.cfg"] for n in range(12)} == {str(n).encode() for n in range(12)}
    names = [p for p in plain if p.startswith("/CONF/")]
    assert len(names) == len(set(names)) == 12
