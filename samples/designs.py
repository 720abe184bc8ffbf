"""The sample's physical and chemical constants: pack designs and the element contents of products.

Element contents are integer parts per million of mass, from the products' formulas (atomic
masses Li 6.94, Ni 58.693, Mn 54.938, Co 58.933, O 15.999, H 1.008, S 32.06, Fe 55.845,
P 30.974, C 12.011):

=========================================  ==========================================
product                                    element contents (ppm)
=========================================  ==========================================
NMC811 precursor Ni0.8Mn0.1Co0.1(OH)2       Ni 508 409, Mn 59 485, Co 63 811
NMC811 cathode LiNi0.8Mn0.1Co0.1O2          Li 71 341, Ni 482 675, Mn 56 474, Co 60 581
LFP cathode LiFePO4                         Li 43 992
nickel sulfate NiSO4·6H2O                   Ni 223 304
cobalt sulfate CoSO4·7H2O                   Co 209 656
manganese sulfate MnSO4·H2O                 Mn 325 060
lithium hydroxide LiOH·H2O                  Li 165 388
lithium carbonate Li2CO3                    Li 187 852
spodumene concentrate SC6 (6 % Li2O)        Li 27 872
=========================================  ==========================================

An NMC811 cathode is thus about 48 % Ni, 6 % Co, 6 % Mn and 7 % Li by mass.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from samples.generate import SamplePack

MODELS_DIR: Final = Path(__file__).parent / "models"
"""The OEM model files of the sample pack designs."""

PCAM_NMC811: Final = {"Ni": 508_409, "Mn": 59_485, "Co": 63_811}
CAM_NMC811: Final = {"Li": 71_341, "Ni": 482_675, "Mn": 56_474, "Co": 60_581}
CAM_LFP: Final = {"Li": 43_992}
NISO4: Final = {"Ni": 223_304}
COSO4: Final = {"Co": 209_656}
MNSO4: Final = {"Mn": 325_060}
LIOH: Final = {"Li": 165_388}
LI2CO3: Final = {"Li": 187_852}
SC6: Final = {"Li": 27_872}
SPHERICAL_GRAPHITE: Final = {"C": 999_000}
SYNTHETIC_GRAPHITE: Final = {"C": 999_500}
NEEDLE_COKE: Final = {"C": 985_000}
ELECTROLYTE: Final = {"Li": 5_480}
"""LiPF6 (4.57 % Li) at about 12 % in carbonate solvents."""

EOL_NMC622: Final = {"Li": 15_750, "Ni": 81_000, "Co": 27_000, "Mn": 24_750, "C": 137_500}
"""End-of-life NMC622 EV packs, whole-pack contents (about 90 kg cathode in a 400 kg pack)."""
EOL_LFP: Final = {"Li": 12_700, "C": 131_000}
"""End-of-life LFP EV packs, whole-pack contents."""

SCRAP_PERCENT: Final = 5
"""Electrode scrap at cell making (coating, slitting and formation losses), percent of the
active materials consumed; it goes to the recycler as pre-consumer waste."""


@dataclass(frozen=True)
class PackDesign:
    """One EV pack model: its cells, modules and masses (grams), and what a cell holds."""

    chemistry: str
    model_file: str
    serial_prefix: str
    energy_kwh: int
    cells: int
    cell_g: int
    cell_wh: int
    modules: int
    module_frame_g: int
    pack_extra_g: int
    vehicle_extra_g: int
    cam_g_per_cell: int
    anode_g_per_cell: int
    natural_graphite_percent: int
    electrolyte_g_per_cell: int
    cam_ppm: dict[str, int]
    eol_ppm: dict[str, int]
    cell_kg_co2e: Decimal
    """Cell-making emissions per cell (dry rooms, formation, grid electricity), kg CO2e."""

    @property
    def cells_per_module(self) -> int:
        """Cells in one module."""
        return self.cells // self.modules

    @property
    def module_g(self) -> int:
        """Mass of one module: its cells and its frame, busbars and cell-contacting system."""
        return self.cells_per_module * self.cell_g + self.module_frame_g

    @property
    def pack_g(self) -> int:
        """Mass of the pack: modules plus housing, cooling, BMS and junction box."""
        return self.modules * self.module_g + self.pack_extra_g

    @property
    def other_cell_g(self) -> int:
        """Per cell, the mass of foils, separator, can and tabs (no tracked element)."""
        return (
            self.cell_g - self.cam_g_per_cell - self.anode_g_per_cell - self.electrolyte_g_per_cell
        )


NMC811_75: Final = PackDesign(
    chemistry="NMC811",
    model_file="nmc811-75kwh.json",
    serial_prefix="E75N",
    energy_kwh=75,
    cells=192,
    cell_g=1_450,
    cell_wh=390,
    modules=12,
    module_frame_g=1_850,
    pack_extra_g=151_400,
    vehicle_extra_g=1_655_000,
    cam_g_per_cell=526,
    anode_g_per_cell=320,
    natural_graphite_percent=60,
    electrolyte_g_per_cell=190,
    cam_ppm=CAM_NMC811,
    eol_ppm=EOL_NMC622,
    cell_kg_co2e=Decimal("9.75"),
)
"""75 kWh NMC811 pack: 192 prismatic cells (3.65 V, 107 Ah, 390 Wh, 1.45 kg) in 12 modules of
16 (96s2p), 452 kg; about 101 kg of cathode active material and 61 kg of graphite."""

LFP_60: Final = PackDesign(
    chemistry="LFP",
    model_file="lfp-60kwh.json",
    serial_prefix="E60L",
    energy_kwh=60,
    cells=104,
    cell_g=3_200,
    cell_wh=576,
    modules=8,
    module_frame_g=2_400,
    pack_extra_g=65_600,
    vehicle_extra_g=1_540_000,
    cam_g_per_cell=1_160,
    anode_g_per_cell=520,
    natural_graphite_percent=60,
    electrolyte_g_per_cell=380,
    cam_ppm=CAM_LFP,
    eol_ppm=EOL_LFP,
    cell_kg_co2e=Decimal("11.50"),
)
"""60 kWh LFP pack: 104 prismatic cells (3.2 V, 180 Ah, 576 Wh, 3.2 kg) in 8 modules of 13
(104s1p), 417.6 kg; about 121 kg of cathode active material and 54 kg of graphite."""

DESIGNS: Final = {"NMC811": NMC811_75, "LFP": LFP_60}
"""Pack designs by chemistry name (``--chemistry``)."""


def load_model(design: PackDesign) -> dict[str, Any]:
    """The OEM's model data for ``design`` (``samples/models/*.json``)."""
    data: dict[str, Any] = json.loads((MODELS_DIR / design.model_file).read_text("utf-8"))
    return data


def model_for(design: PackDesign, pack: SamplePack) -> dict[str, Any]:
    """The OEM's model data for one pack: the model file with the pack's manufacturing date."""
    model = copy.deepcopy(load_model(design))
    model["point1"]["manufacturing"]["date"] = pack.made_on
    return model
