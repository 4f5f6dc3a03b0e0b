"""Compute-in-memory crossbar model for stage 1 (hardware-aware inference).

* `cim.hardware`: the device and array model (cells, conductances, non-idealities, ADC) and
  `HardwareParams.from_config(cfg)`;
* `cim.engine`: the vectorised evaluation of one layer's crossbar;
* `cim.layers`: `convert_model(model, params)` wraps every Conv2d/Linear of any model;
* `cim.conductance`, `cim.ir_drop`, `cim.adc`: measured device tables and output noise, wire
  IR drop, ADC non-idealities; `cim.hat`: hardware-aware (noise-aware) training.
"""
from .engine import CrossbarEngine
from .hardware import HardwareParams, bit_plane_weights, input_bits, program_cells, weight_slices
from .layers import CIMContext, CIMLayer, MappingError, calibrate, convert_model

__all__ = ["HardwareParams", "CrossbarEngine", "CIMContext", "CIMLayer", "MappingError",
           "calibrate", "convert_model", "program_cells", "weight_slices", "input_bits",
           "bit_plane_weights"]
