r"""The final model is trained but its weights are never saved.

cell: final_training
loses: test_final_model
symptom: the notebook did not write 'fashion_mlp.pt'
mode: replace
"""

torch.manual_seed(SEED)
model = build_model()
history = train(model, X_train, y_train, X_test, y_test, EPOCHS, BATCH_SIZE, LR, SEED)
print(f"test accuracy: {history['test_accuracy'][-1]:.4f}")
