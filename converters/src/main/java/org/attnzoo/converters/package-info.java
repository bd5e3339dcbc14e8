/**
 * Checkpoint readers and key mapping: turn PyTorch checkpoints into {@link org.attnzoo.sdk.tensor.StateDict}s
 * that AttnZoo models can load.
 *
 * <ul>
 *   <li>{@link org.attnzoo.converters.Checkpoints#open(java.nio.file.Path)}: detect the format, unwrap
 *       training-checkpoint dicts ({@code model}, {@code state_dict}, ...), strip {@code module.}.</li>
 *   <li>{@link org.attnzoo.converters.SafetensorsReader} / {@link org.attnzoo.converters.SafetensorsWriter}:
 *       memory-mapped, validated {@code .safetensors} reading; atomic writing.</li>
 *   <li>{@link org.attnzoo.converters.TorchZipReader}: torch.save zip archives through a restricted
 *       unpickler that executes nothing and refuses unknown globals by name.</li>
 *   <li>{@link org.attnzoo.converters.KeyMap}: ordered rename / drop / expand / transform rules from one
 *       naming layout to another, with collision detection; {@link org.attnzoo.converters.TensorViews}
 *       for lazy reshapes and splits.</li>
 * </ul>
 *
 * Every problem with a file surfaces as a {@link org.attnzoo.converters.CheckpointException} whose
 * one-line message names the file, the key or global, and what was expected versus found.
 */
package org.attnzoo.converters;
