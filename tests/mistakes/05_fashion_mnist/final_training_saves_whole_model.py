r"""torch.save(model) pickles the whole module instead of its state_dict.

cell: final_training
loses: test_final_model
symptom: was refused: torch.load\(weights_only=True\)
mode: replace
"""

torch.manual_seed(SEED)
model = build_model()
history = train(model, X_train, y_train, X_test, y_test, EPOCHS, BATCH_SIZE, LR, SEED)
torch.save(model, WEIGHTS_PATH)
