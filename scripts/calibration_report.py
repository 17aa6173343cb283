"""How a video model's two temperatures calibrate it: the one its kept epoch's own tune people
give and the cross-fitted one it ships with (model card, release 8), measured as top-label ECE
on the tune people and on the development people, the same model and labels at both.

    python scripts/calibration_report.py [--model c3d_convlstm_fer]

Reads what `train_default.py --stage students` left: `build/train_default/NAME.json` (both
temperatures), `NAME-tune.npy` (every epoch's tune distributions) and the shipped ONNX graph
(the cross-fitted temperature folded in). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from train_default import BUILD, STUDENTS, Sources, collect

from vfer.data.photos import still_clips
from vfer.inference import load_classifier
from vfer.training.calibrate import as_logits, probabilities
from vfer.training.evaluate import expected_calibration_error, quality


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=STUDENTS, default="c3d_convlstm_fer")
    args = parser.parse_args()
    report = json.loads((BUILD / f"{args.model}.json").read_text())
    shipped, in_selection = report["temperature"], report["temperature_in_selection"]
    src = Sources(collect(workers=2))
    tune = src.student_photos("tune")
    tune_logits = as_logits(np.load(BUILD / f"{args.model}-tune.npy")[report["best_epoch"] - 1, : len(tune)])
    dev = src.photos("dev")
    classifier = load_classifier(args.model, backend="onnx")
    probs = classifier.predict_clips({c: still_clips(src.photo_aligned[dev]) for c in classifier.crops})
    figures = quality(args.model, probs, src.photo_labels[dev])
    served = as_logits(probs)  # at the shipped temperature: times shipped / T, the logits at T
    out = {
        "model": args.model,
        "best_epoch": report["best_epoch"],
        "temperature": {"cross_fitted": shipped, "in_selection": in_selection},
        "calibration_epochs": report["calibration_epochs"],
        "tune_ece": {
            name: expected_calibration_error(probabilities(tune_logits, t), src.photo_labels[tune])
            for name, t in (("cross_fitted", shipped), ("in_selection", in_selection))
        },
        "development_ece": {
            name: expected_calibration_error(probabilities(served * shipped, t), src.photo_labels[dev])
            for name, t in (("cross_fitted", shipped), ("in_selection", in_selection))
        },
        "development_accuracy": figures["accuracy"],
        "development_recall": figures["recall"],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
