"""Rendering a VM's vm_conf and image.conf: properties, recomputed options, variables, and every payload problem at once."""

import ast

import pytest

from nfvo.domain.convirt import DEFAULT_IMAGE_STORE, read_files, render
from nfvo.domain.convirt.expressions import MAX_VALUE_CHARS
from nfvo.errors import ValidationFailed
from tests.unit.domain.convirt import samples

FEDORA = read_files(samples.fedora())
CD = read_files(samples.cd_install())


def rendered_values(text: str) -> dict:
    """The options of a rendered file, read back with the literal reader of the stdlib."""
    tree = ast.parse(text)
    return {s.targets[0].id: ast.literal_eval(s.value) for s in tree.body}


def problems(template, payload, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        render(template, payload, **kwargs)
    return [(e.pointer, e.message) for e in caught.value.errors]


def test_the_guides_example_disk_entry():
    result = render(FEDORA, {"vmName": "Joe_Desktop"})
    assert rendered_values(result.vm_conf)["disk"] == ["file:/vm_disks/Joe_Desktop.disk.xm,hda,w"]


def test_a_render_with_defaults():
    result = render(FEDORA, {"vmName": "web01"})
    vm = rendered_values(result.vm_conf)
    assert vm["kernel"] == f"{DEFAULT_IMAGE_STORE}/Fedora_Core_Install/vmlinuz.fc-xen"
    assert vm["name"] == "web01" and vm["memory"] == 256
    assert vm["extra"] == "text ks=http://ks.example.org/web01.cfg"
    image = rendered_values(result.image_conf)
    assert image["log_dir"] == "/var/log/convirt/Fedora_Core_Install"
    assert image["hda_disk_size_mb"] == 8 * 1024 + 512 and image["label"] == "fc-xen-8"
    assert "computed_options" not in image and "customizable_options" not in image
    assert list(image) == [o.name for o in FEDORA.image_conf.options]  # file order
    assert result.image_conf.splitlines()[0] == "KERNEL_TYPE = 'fc-xen'"
    assert result.to_dict() == {"vmName": "web01", "files": [{"name": "vm_conf", "content": result.vm_conf},
                                                             {"name": "image.conf", "content": result.image_conf}]}


def test_properties_override_and_computed_options_are_recomputed():
    result = render(FEDORA, {"vmName": "db1", "properties": {"hda_disk_size": 20, "swap_size_mb": 1024,
                                                             "memory": 1024, "vif": ["bridge=xenbr1", "bridge=xenbr2"]}},
                    image_store="/srv/store")
    image, vm = rendered_values(result.image_conf), rendered_values(result.vm_conf)
    assert image["hda_disk_size"] == 20 and image["hda_disk_size_mb"] == 20 * 1024 + 1024
    assert image["label"] == "fc-xen-20"
    assert vm["memory"] == 1024 and vm["vif"] == ["bridge=xenbr1", "bridge=xenbr2"]
    assert vm["kernel"] == "/srv/store/Fedora_Core_Install/vmlinuz.fc-xen"


def test_image_conf_options_fill_vm_conf_variables_after_their_own_rendering():
    result = render(FEDORA, {"vmName": "v", "properties": {"admin_user": "ops_$VM_NAME",
                                                           "extra": "ks size=$hda_disk_size user=$admin_user"}})
    assert rendered_values(result.image_conf)["admin_user"] == "ops_v"
    assert rendered_values(result.vm_conf)["extra"] == "ks size=8 user=ops_v"


def test_substitution_is_one_pass():
    result = render(CD, {"vmName": "$IMAGE_NAME", "properties": {"boot": "$$VM_NAME"}})
    vm = rendered_values(result.vm_conf)
    assert vm["name"] == "$IMAGE_NAME" and vm["boot"] == "$VM_NAME"


def test_a_computed_vm_conf_option_and_float_and_bool_kinds():
    files = samples.cd_install()
    files["Linux_CD_Install/vm_conf.template"] += b"ratio = 0.5\nacpi = True\n"
    template = read_files(files)
    result = render(template, {"vmName": "w", "properties": {"arch_libdir": "lib", "ratio": 2, "acpi": False}})
    vm = rendered_values(result.vm_conf)
    assert vm["device_model"] == "/usr/lib/xen/bin/qemu-dm" and vm["ratio"] == 2 and vm["acpi"] is False


def test_without_customizable_options_every_literal_option_is_customizable():
    assert render(CD, {"vmName": "x", "properties": {"hda_disk_size": 9}}).image_conf.startswith("hda_disk_size = 9\n")


def test_the_payload_must_be_an_object():
    assert problems(FEDORA, ["vmName"]) == [("", "must be an object")]


def test_every_payload_problem_at_once_at_its_pointer():
    found = problems(FEDORA, {"vmName": "a b", "extra": 1, "properties": {
        "hda_disk_size": "big", "hda_fs_type": "xfs", "label": "x", "nothing": 1, "VM_NAME": "v",
        "IMAGE_STORE": "/x", "firewall": None, "admin_user": "$UNDEFINED", "memory": [1], "a/b~c": 1}})
    assert found == [
        ("/extra", "unknown key (known: vmName, properties)"),
        ("/properties/IMAGE_STORE", "IMAGE_STORE is filled by ConVirt at provisioning, not a property"),
        ("/properties/VM_NAME", "VM_NAME is filled from vmName, not a property"),
        ("/properties/admin_user", "undefined variable $UNDEFINED (at character 1) for "
                                   "Fedora_Core_Install/image.conf: write $$ for a literal $"),
        ("/properties/a~1b~0c", "not an option of the template (customizable: hda_disk_size, firewall, admin_user, "
                                "swap_size_mb, kernel, ramdisk, name, memory, vcpus, disk, vif, extra, on_reboot, "
                                "on_crash)"),
        ("/properties/firewall", "null is not allowed (give a string, number, boolean, list or object)"),
        ("/properties/hda_disk_size", "must be a number like the value of hda_disk_size in "
                                      "Fedora_Core_Install/image.conf (line 5); got a string"),
        ("/properties/hda_fs_type", "hda_fs_type of Fedora_Core_Install/image.conf is not customizable (not in "
                                    "its customizable_options)"),
        ("/properties/label", "label is a computed option of Fedora_Core_Install/image.conf: it is computed from "
                              "other options"),
        ("/properties/memory", "must be a number like the value of memory in Fedora_Core_Install/vm_conf.template "
                               "(line 4); got a list"),
        ("/properties/nothing", "not an option of the template (customizable: hda_disk_size, firewall, admin_user, "
                                "swap_size_mb, kernel, ramdisk, name, memory, vcpus, disk, vif, extra, on_reboot, "
                                "on_crash)"),
        ("/vmName", "vmName must not hold '/', whitespace, NUL or other unprintable characters: it names files")]


@pytest.mark.parametrize("name, message", [
    (None, "vmName is required"), (7, "vmName must be a string (got a number)"), ("", "vmName must be 1 to 255"),
    ("x" * 256, "vmName must be 1 to 255"), ("a/b", "must not hold '/'"), ("a\x00b", "must not hold"),
    ("a\tb", "must not hold"), ("a\nb", "must not hold"), ("a\u2028b", "must not hold"), ("a\x1bb", "must not hold"),
])
def test_the_vm_name(name, message):
    payload = {} if name is None else {"vmName": name}
    [(pointer, text)] = problems(CD, payload)
    assert pointer == "/vmName" and message in text


@pytest.mark.parametrize("value, message", [
    ([1, [2, None]], "null is not allowed"), (float("inf"), "must be a finite number"),
    (2**64, "an integer is at most"), ("x" * (MAX_VALUE_CHARS + 1), f"longer than {MAX_VALUE_CHARS} characters"),
    ({"k": None}, "null is not allowed"), ((1, 2), "tuple is not allowed"),
])
def test_property_values_must_be_bounded_literals(value, message):
    [(pointer, text)] = problems(CD, {"vmName": "x", "properties": {"disk": value}})
    assert pointer == "/properties/disk" and message in text


def test_deeply_nested_property_values_are_refused():
    value: list = []
    for _ in range(200):
        value = [value]
    [(pointer, text)] = problems(CD, {"vmName": "x", "properties": {"disk": value}})
    assert pointer == "/properties/disk" and text.startswith("nested more than")


def test_a_vm_conf_property_may_use_image_conf_options_but_not_lists():
    assert problems(FEDORA, {"vmName": "x", "properties": {"extra": "$custom_list"}}) == [
        ("/properties/extra", "$custom_list (at character 1) is a list: it cannot be put into a string")]


def test_a_computed_option_that_fails_is_refused_at_the_property_it_depends_on():
    files = samples.cd_install()
    files["Linux_CD_Install/image.conf"] = (b"size = 10\nparts = 2\ncomputed_options = ['each', 'label']\n"
                                            b"each = size // parts\nlabel = 'x' * each\n")
    template = read_files(files)
    assert rendered_values(render(template, {"vmName": "x"}).image_conf)["label"] == "xxxxx"
    assert problems(template, {"vmName": "x", "properties": {"parts": 0}}) == [
        ("/properties/parts", "the computed option each of Linux_CD_Install/image.conf (line 4) cannot be computed "
                              "from the given properties: division by zero")]
    assert problems(template, {"vmName": "x", "properties": {"size": 2**62, "parts": 1}}) == [
        ("/properties/size", "the computed option label of Linux_CD_Install/image.conf (line 5) cannot be computed "
                             f"from the given properties: the value is longer than {MAX_VALUE_CHARS} characters")]


def test_a_name_of_both_files_sets_both():
    files = samples.cd_install()
    files["Linux_CD_Install/image.conf"] += b"memory = 512\n"
    result = render(read_files(files), {"vmName": "x", "properties": {"memory": 2048}})
    assert rendered_values(result.image_conf)["memory"] == 2048 == rendered_values(result.vm_conf)["memory"]


def test_rendered_text_is_python_literals_even_for_awkward_strings():
    value = "quote ' \" backslash \\ newline \n tab \t nul \x00 é"
    result = render(CD, {"vmName": "x", "properties": {"boot": value}})
    assert rendered_values(result.vm_conf)["boot"] == value


def test_a_crypt_hash_is_rendered_as_written_in_the_file_and_as_a_property():
    files = samples.cd_install()
    files["Linux_CD_Install/image.conf"] += b"admin_password = '$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8'\n"
    template = read_files(files)
    image = rendered_values(render(template, {"vmName": "v"}).image_conf)
    assert image["admin_password"] == "$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8"
    given = "$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3"
    image = rendered_values(render(template, {"vmName": "v", "properties": {"admin_password": given}}).image_conf)
    assert image["admin_password"] == given
