"""Interactive widgets for the chapters and exercises, with a Python API.

Every widget is an object with

* properties for its controls (``explorer.b = -1.0`` moves the slider, and reading
  ``explorer.b`` gives the slider's value),
* ``update()``, which recomputes the state and redraws the picture,
* ``summary()``, a short deterministic text of the current state, and
* ``figure()``, a matplotlib figure of the current state (for a kernel-free view).

Displaying the object in a notebook shows the controls and the picture. Solution
notebooks and tests drive the same objects through this API without a browser, and
print ``summary()`` in a separate cell so ``nbval`` checks the widget's logic.

The picture is drawn with matplotlib into a PNG and shown as an ``<img>`` with alt text
(``alt_text()``) in an ``ipywidgets.HTML``, so the saved widget state of an executed
notebook shows the last picture, described for screen readers, even in the static book,
where no kernel runs.

ipywidgets and matplotlib are imported when a widget is created, not when bpkit is.
"""

from ._base import Widget
from .autoencoder import AutoencoderExplorer
from .activations import DepthExplorer
from .attention import AttentionExplorer
from .backprop import BackpropStepper
from .convolution import ConvolutionExplorer
from .forward import ACTIVATIONS, NetworkPlayground, NeuronExplorer
from .optimizers import OptimizerRace
from .losses import LOSSES, LossExplorer, fit_constant
from .recurrent import GradientFlowExplorer
from .regularization import RegularizationLab

__all__ = ["ACTIVATIONS", "AttentionExplorer", "AutoencoderExplorer", "BackpropStepper", "ConvolutionExplorer", "DepthExplorer", "GradientFlowExplorer", "LOSSES", "LossExplorer", "NetworkPlayground", "NeuronExplorer", "OptimizerRace", "RegularizationLab", "Widget", "fit_constant"]
