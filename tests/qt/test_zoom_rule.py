""""Classify this view" classifies the whole map unless the user zoomed in, and says which part
it classified (issue 14: a default-size viewer classified rows 26:274 of a 300x300 map)."""

import numpy as np
import pytest

from tests.qt.conftest import load_glue_data, wait_for_job, write_fits_map
from tests.qt.viewer_helpers import menu_tool, settle

MODEL = "kolmogorov-burgers-fbm"
#: A square map taller than glue's default viewer shows with square pixels.
MAP_SIZE = 300


@pytest.mark.parametrize("limits, zoomed", [
    ([(-0.5, 299.5), (-50.0, 349.0)], False),       # the home view: all of the map
    ([(25.6, 273.4), (-94.9, 393.9)], False),      # default viewer: resizing cut the rows
    ([(100.0, 199.0), (-0.5, 299.5)], True),       # centred, but less area than the map
    ([(149.5, 299.5), (-94.9, 393.9)], True),      # one axis cut off-centre: a strip
    ([(9.5, 169.5), (39.5, 219.5)], True),         # both axes cut
])
def test_zoom_rule(limits, zoomed):
    from glue_turbml.qt.viewer_context import view_is_zoomed

    assert view_is_zoomed(limits, (MAP_SIZE, MAP_SIZE)) is zoomed


@pytest.fixture
def square_map_path(tmp_path):
    values = np.random.default_rng(7).lognormal(sigma=0.5, size=(MAP_SIZE, MAP_SIZE))
    return write_fits_map(tmp_path / "square.fits", (values * 1e21).astype(np.float32))


@pytest.fixture
def default_viewer(glue_app, square_map_path):
    """A shown glue window with an image viewer of the square map at glue's default size."""
    from glue_qt.viewers.image import ImageViewer

    data = load_glue_data(square_map_path)
    glue_app.data_collection.append(data)
    glue_app.show()
    viewer = glue_app.new_data_viewer(ImageViewer, data=data)
    settle()
    return viewer


def _command_line_probability(path, out):
    """P(burgers) that ``turbml classify`` writes for ``path`` (its FITS header)."""
    from astropy.io import fits

    from glue_turbml.cli import main

    assert main(["classify", str(path), "--model", MODEL, "--out", str(out),
                 "--device", "cpu"]) == 0
    header = fits.getheader(out / f"{path.stem}_{MODEL}.fits")
    index = next(index for index in range(8) if header[f"TM_CLS{index}"] == "burgers")
    return header[f"TM_P{index}"]


def test_default_viewer_classifies_the_whole_map_as_the_command_line_does(
        glue_app, default_viewer, square_map_path, tmp_path, message_boxes):
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.panel import result_panel_for
    from glue_turbml.qt.viewer_context import _visible_range

    state = default_viewer.state
    # The situation users met: glue's square pixels hide rows of the unzoomed map.
    assert state.aspect == "equal"
    assert _visible_range(state.y_min, state.y_max, MAP_SIZE) != (0, MAP_SIZE)
    job = wait_for_job(menu_tool(default_viewer, "turbml:classify_view").activate())
    assert job.state == "done" and not message_boxes
    assert job._prepared.image.shape == (MAP_SIZE, MAP_SIZE)
    info = job.datasets["classification"].meta[META_KEY]
    assert "region" not in info["plane"] and info["plane"]["shape"] == [MAP_SIZE, MAP_SIZE]
    assert result_panel_for(glue_app).region_label.text() \
        == f"Classified: the whole {MAP_SIZE}x{MAP_SIZE} map"
    np.testing.assert_allclose(info["summary"]["probability"]["burgers"],
                               _command_line_probability(square_map_path, tmp_path / "cli"),
                               rtol=1e-5)


def test_zooming_onto_a_strip_classifies_only_the_strip_and_says_so(
        glue_app, default_viewer, message_boxes):
    from echo import delay_callback

    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.panel import result_panel_for
    from glue_turbml.qt.viewer_context import _visible_range

    state = default_viewer.state
    with delay_callback(state, "y_min", "y_max"):
        state.y_min, state.y_max = 149.5, 299.5  # the top half; glue keeps square pixels
    settle()
    x_range = _visible_range(state.x_min, state.x_max, MAP_SIZE)
    job = wait_for_job(menu_tool(default_viewer, "turbml:classify_view").activate())
    assert job.state == "done" and not message_boxes
    probabilities = job.datasets["classification"]
    assert probabilities.meta[META_KEY]["plane"]["region"] == {"y": [150, 300],
                                                               "x": list(x_range)}
    assert job._prepared.image.shape == (150, x_range[1] - x_range[0])
    expected = (f"Classified: y 150:300, x {x_range[0]}:{x_range[1]} of the "
                f"{MAP_SIZE}x{MAP_SIZE} map (the viewer's visible part)")
    assert result_panel_for(glue_app).region_label.text() == expected
    assert "region y 150:300" in probabilities.meta[META_KEY]["summary"]["input"]

    # The home button: the whole map again, in the same datasets.
    state.reset_limits()
    settle()
    again = wait_for_job(menu_tool(default_viewer, "turbml:classify_view").activate())
    assert again.datasets["classification"] is probabilities
    assert "region" not in probabilities.meta[META_KEY]["plane"]
    assert np.isfinite(probabilities["p_burgers"]).all()
