"""Regenerate the bundled example submissions in examples/submitted/ (nbgrader's layout).

Four plausible students per assignment:
  alice  - a correct solution (the source notebook with its markers removed)
  bob    - a classic backprop bug (an entry of the assignment's wrong-implementation catalogue
           in tests/catalogue/: the one named in BOB_BUG, else the first)
  carol  - half done: the second half of her answer cells still raise NotImplementedError
  dave   - an unreadable file (a notebook truncated mid-save)
"""

from __future__ import annotations

import json
import shutil

from build import ROOT, solution_notebook, source_ids
from catalogue import load_catalogue, mutate

OUT = ROOT / "examples" / "submitted"
BOB_BUG = {
    "16_relation_networks": "relation_first_relu_mask_missing",
    "21_deep_speech_ctc": "occupancy_without_add_at",
    "18_relational_rnn": "model_bptt_truncated_to_one_step",
    "12_message_passing": "update_tanh_derivative_wrong",
    "20_neural_turing_machine": "location_shift_adjoint_not_reversed",
    "17_variational_lossy_ae": "dA_not_masked",
    "30_lost_in_the_middle": "softmax_backward_misses_the_normalisation",
    "14_bahdanau_attention": "attention_softmax_jacobian_diagonal_only",
    "27_multi_token_prediction": "unembedding_gradient_from_the_last_head_only",
    "08_order_matters": "attend_dM_misses_the_score_path",
    "06_pointer_networks": "decoder_start_not_sent_back_to_the_encoder",
    "29_rag": "copy_weight_gradient_assigned_not_accumulated",
    "28_dense_passage_retrieval": "fancy_index_assignment_loses_repeated_words",
    "01_complexodynamics": "neighbour_gradients_shifted_the_wrong_way",
    "02_char_rnn": "bptt_weight_gradient_not_accumulated",
    "03_lstm": "bptt_weight_gradient_not_accumulated",
    "04_rnn_regularization": "rec_backward_skips_the_recurrent_mask",
    "05_keeping_nn_simple": "noisy_affine_dx_variance_path_missing_factor_2",
    "23_mdl_principle": "dlog_sigma_misses_the_normaliser",
    "25_kolmogorov_complexity": "ctx_backward_repeated_contexts_not_accumulated",
    "26_cs231n": "affine_transposed_weight_gradient",
    "13_transformer": "sdpa_softmax_backward_without_row_sum",
    "22_scaling_laws": "transposed_output_weight_gradient",
    "07_alexnet": "lrn_backward_forgets_the_sum_path",
    "09_gpipe": "mean_of_micro_batch_means",
    "10_resnet": "layernorm_dx_forgets_the_mean_path",
    "11_dilated_convolutions": "conv_dx_overwritten_not_accumulated",
    "15_identity_mappings": "batchnorm_backward_treats_batch_statistics_as_constants",
    "19_coffee_automaton": "nbr_backward_repeated_values_not_accumulated",
    "24_machine_super_intelligence": "value_backward_missing_one_over_T",
}


def is_answer(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def with_bug(aid: str) -> dict:
    """The source with one catalogue entry applied: BOB_BUG's, else the first mutant.

    Raises:
        SystemExit: BOB_BUG names a mutant the catalogue no longer has.
    """
    entries = load_catalogue(aid)
    if aid not in BOB_BUG:
        return mutate(aid, entries[0])
    named = [m for m in entries if m["name"] == BOB_BUG[aid]]
    if not named:
        raise SystemExit(f"BOB_BUG[{aid!r}] = {BOB_BUG[aid]!r} is not in the catalogue")
    return mutate(aid, named[0])


def half_done(aid: str) -> dict:
    nb = solution_notebook(aid)
    release = json.loads((ROOT / "release" / aid / f"{aid}.ipynb").read_text())
    answers = [c for c in nb["cells"] if is_answer(c)]
    blanks = [c for c in release["cells"] if is_answer(c)]
    for done, blank in list(zip(answers, blanks))[len(answers) // 2 :]:
        src = blank["source"]
        done["source"] = "".join(src) if isinstance(src, list) else src
    return nb


def write(student: str, aid: str, content: str) -> None:
    path = OUT / student / aid / f"{aid}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    for aid in source_ids():
        if not (ROOT / "tests" / "catalogue" / f"{aid}.py").is_file():
            continue
        write("alice", aid, json.dumps(solution_notebook(aid), indent=1) + "\n")
        write("bob", aid, json.dumps(with_bug(aid), indent=1) + "\n")
        write("carol", aid, json.dumps(half_done(aid), indent=1) + "\n")
        whole = json.dumps(solution_notebook(aid), indent=1)
        write("dave", aid, whole[: len(whole) // 3])
    print(f"examples written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
