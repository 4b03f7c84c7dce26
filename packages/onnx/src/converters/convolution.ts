/**
 * Convolution, pooling, padding, cropping and upsampling layers.
 *
 * Tensors between layers stay in TF.js layout: channels-last (NWC / NHWC) by default, or NCHW for
 * a layer with `dataFormat: 'channelsFirst'`. ONNX Conv, ConvTranspose and pooling operators work
 * channels-first, so a channels-last input is transposed to NC… around them and back; kernels are
 * permuted into ONNX layout once, on the JS side. Padding follows TF exactly (SAME puts the odd
 * pixel at the end): explicit pads wherever they are known, `SAME_UPPER` for a strided axis of
 * unknown size.
 */
import { type Attributes, attr } from '../graph.js';
import { activationOf } from './core.js';
import {
  configValue,
  inputShape,
  type LayerContext,
  type LayerConverter,
  permute,
  type Shape,
  single,
  toChannelsFirst,
  toChannelsLast,
  unsupported,
  weightAt,
} from './types.js';

type DataFormat = 'channelsLast' | 'channelsFirst';

/** The layer's `dataFormat` (default channels-last). */
function dataFormatOf(context: LayerContext): DataFormat {
  const format = configValue(context, 'dataFormat', 'channelsLast');
  if (format !== 'channelsLast' && format !== 'channelsFirst')
    throw unsupported(context, `dataFormat "${format}"`);
  return format;
}

/**
 * The layer's `padding` mode. `causal` is refused for convolutions: TF.js cannot run it (its conv
 * ops throw) and declares the *valid* output length for it, so no export can match both TF.js's
 * shapes and Keras's causal values. Pooling passes `causalAsValid`: TF.js pools `causal` as `valid`.
 */
function paddingOf(context: LayerContext, causalAsValid = false): 'valid' | 'same' {
  const padding = configValue(context, 'padding', 'valid');
  if (padding === 'valid' || padding === 'same') return padding;
  if (padding === 'causal' && causalAsValid) return 'valid';
  const why =
    padding === 'causal' ? " (TF.js cannot run it and declares the 'valid' output length for it)" : '';
  throw unsupported(context, `padding "${padding}"${why}`);
}

/** A config value that is a positive integer or `count` of them (TF.js normalises most to arrays). */
function intsOf(context: LayerContext, key: string, count: number, fallback: number): number[] {
  const raw = context.config[key];
  const values = raw === undefined || raw === null ? [fallback] : Array.isArray(raw) ? raw : [raw];
  const expanded = values.length === 1 && count > 1 ? new Array<unknown>(count).fill(values[0]) : values;
  if (
    expanded.length !== count ||
    !expanded.every((value) => Number.isInteger(value) && (value as number) > 0)
  )
    throw unsupported(context, `${key} ${JSON.stringify(raw)} is not ${count} positive integer(s)`);
  return expanded as number[];
}

/** The spatial sizes of a TF.js shape in `format`, in order; null where unknown. */
function spatialSizes(shape: Shape, format: DataFormat): (number | null)[] {
  return format === 'channelsLast' ? shape.slice(1, -1) : shape.slice(2);
}

/** Brings a TF.js-layout tensor into ONNX's channels-first layout. */
function toOnnxLayout(context: LayerContext, x: string, rank: number, format: DataFormat): string {
  return format === 'channelsLast' ? toChannelsFirst(context, x, rank) : x;
}

/** Brings a channels-first result back into the layer's TF.js layout. */
function fromOnnxLayout(context: LayerContext, y: string, rank: number, format: DataFormat): string {
  return format === 'channelsLast' ? toChannelsLast(context, y, rank) : y;
}

/** A sliding window over the spatial axes, as TF.js configures it. */
interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padding: 'valid' | 'same';
}

/**
 * The padding attributes of an ONNX Conv/pool node for TF's padding mode. TF's SAME pads
 * total = max(0, (⌈in/s⌉ − 1)·s + (k − 1)·d + 1 − in), the odd pixel at the end; this is written as
 * explicit `pads` (all begins, then all ends) whenever it is known — always at stride 1 — and as
 * `auto_pad: SAME_UPPER` (the same rule, computed by the runtime) for a strided axis of unknown size.
 */
function padAttributes(window: Window, sizes: readonly (number | null)[]): Attributes {
  const { kernel, strides, dilations, padding } = window;
  const begins: number[] = [];
  const ends: number[] = [];
  for (let axis = 0; axis < kernel.length; axis++) {
    const effective = ((kernel[axis] as number) - 1) * (dilations[axis] as number) + 1;
    const stride = strides[axis] as number;
    const size = sizes[axis] ?? null;
    let total = 0;
    if (padding === 'same' && stride === 1) total = effective - 1;
    else if (padding === 'same' && size !== null)
      total = Math.max(0, (Math.ceil(size / stride) - 1) * stride + effective - size);
    // Strided, so undilated (see convWindow): onnxruntime rejects SAME_UPPER with dilation.
    else if (padding === 'same') return { auto_pad: attr.string('SAME_UPPER') };
    begins.push(Math.floor(total / 2));
    ends.push(total - Math.floor(total / 2));
  }
  return { pads: attr.ints([...begins, ...ends]) };
}

/** The attributes shared by Conv and the pooling operators. */
function windowAttributes(window: Window, sizes: readonly (number | null)[]): Attributes {
  return {
    kernel_shape: attr.ints(window.kernel),
    strides: attr.ints(window.strides),
    ...padAttributes(window, sizes),
  };
}

/**
 * A convolution's window from its config. TF.js's conv kernels refuse strides and dilation both
 * above 1 (at predict time), so such a layer is refused here too.
 */
function convWindow(context: LayerContext, spatialRank: number, dilated = true): Window {
  const window: Window = {
    kernel: intsOf(context, 'kernelSize', spatialRank, 1),
    strides: intsOf(context, 'strides', spatialRank, 1),
    dilations: dilated
      ? intsOf(context, 'dilationRate', spatialRank, 1)
      : new Array<number>(spatialRank).fill(1),
    padding: paddingOf(context),
  };
  if (window.strides.some((stride) => stride > 1) && window.dilations.some((rate) => rate > 1))
    throw unsupported(
      context,
      `strides [${window.strides.join(', ')}] with dilationRate [${window.dilations.join(', ')}] (TF.js cannot run a strided dilated convolution)`,
    );
  return window;
}

/** The layer's bias as an initializer, or undefined when `useBias` is false. */
function biasOf(context: LayerContext, index: number): string | undefined {
  if (!configValue(context, 'useBias', true)) return undefined;
  const bias = weightAt(context, index);
  return context.graph.initializer(`${context.layer.name}/bias`, bias.shape, bias.data);
}

/** An ONNX Conv on a channels-first tensor; `bias` is optional. */
function convNode(
  context: LayerContext,
  x: string,
  kernel: { shape: readonly number[]; data: Float32Array },
  bias: string | undefined,
  attributes: Attributes,
  name: string,
): string {
  const { graph } = context;
  const weight = graph.initializer(`${context.layer.name}/${name}`, kernel.shape, kernel.data);
  return graph.node('Conv', bias ? [x, weight, bias] : [x, weight], attributes, context.hint(name));
}

/** `[...k, in, out]` (TF.js) → `[out, in, ...k]` (ONNX Conv), for `spatialRank` kernel axes. */
function convKernelPerm(spatialRank: number): number[] {
  return [spatialRank + 1, spatialRank, ...Array.from({ length: spatialRank }, (_, axis) => axis)];
}

/**
 * A depthwise kernel `[kh, kw, in, multiplier]` as an ONNX grouped-Conv weight `[in·multiplier, 1,
 * kh, kw]` with one group per input channel: output channel c·multiplier + m of both is input
 * channel c under filter m. (Read from the weight: SeparableConv2D's config omits depthMultiplier.)
 */
function depthwiseKernel(
  context: LayerContext,
  index: number,
): { shape: number[]; data: Float32Array; groups: number } {
  const permuted = permute(weightAt(context, index), [2, 3, 0, 1]);
  const [channels, multiplier, height, width] = permuted.shape as [number, number, number, number];
  return { shape: [channels * multiplier, 1, height, width], data: permuted.data, groups: channels };
}

/** Conv1D's data format: TF.js drops it from the config and mis-shapes channels-first, so refuse it. */
function conv1dFormat(context: LayerContext): DataFormat {
  const format = (context.layer as unknown as { dataFormat?: unknown }).dataFormat ?? 'channelsLast';
  if (format !== 'channelsLast')
    throw unsupported(
      context,
      'Conv1D with dataFormat "channelsFirst" (TF.js computes an NWC result but declares an NCW shape)',
    );
  return format;
}

/** Conv1D and Conv2D. */
function convolution(spatialRank: 1 | 2): LayerConverter {
  return (context) => {
    const rank = spatialRank + 2;
    const format = spatialRank === 1 ? conv1dFormat(context) : dataFormatOf(context);
    const window = convWindow(context, spatialRank);
    const kernel = permute(weightAt(context, 0), convKernelPerm(spatialRank));
    const x = toOnnxLayout(context, single(context), rank, format);
    const y = convNode(
      context,
      x,
      kernel,
      biasOf(context, 1),
      {
        ...windowAttributes(window, spatialSizes(inputShape(context), format)),
        dilations: attr.ints(window.dilations),
      },
      'kernel',
    );
    return [activationOf(context, fromOnnxLayout(context, y, rank, format))];
  };
}

/** TF.js's DepthwiseConv2D ignores `dilationRate` (it passes none to the kernel): refuse one ≠ 1. */
function checkDepthwiseDilation(context: LayerContext): void {
  const dilations = intsOf(context, 'dilationRate', 2, 1);
  if (dilations.some((rate) => rate !== 1))
    throw unsupported(
      context,
      `dilationRate [${dilations.join(', ')}] (TF.js's DepthwiseConv2D ignores dilation, so its output would not match its config)`,
    );
}

/** DepthwiseConv2D: a Conv with one group per input channel. */
const depthwiseConv2d: LayerConverter = (context) => {
  checkDepthwiseDilation(context);
  const format = dataFormatOf(context);
  const window = convWindow(context, 2, false);
  const kernel = depthwiseKernel(context, 0);
  const x = toOnnxLayout(context, single(context), 4, format);
  const y = convNode(
    context,
    x,
    kernel,
    biasOf(context, 1),
    {
      ...windowAttributes(window, spatialSizes(inputShape(context), format)),
      group: attr.int(kernel.groups),
    },
    'depthwise_kernel',
  );
  return [activationOf(context, fromOnnxLayout(context, y, 4, format))];
};

/**
 * SeparableConv2D: a depthwise Conv (strides, dilation, padding) then a 1×1 Conv with the bias.
 * With channels-first data TF.js adds the bias along the wrong axis (refused) and applies the
 * activation before transposing back to NCHW, which is reproduced for axis-dependent activations.
 */
const separableConv2d: LayerConverter = (context) => {
  const format = dataFormatOf(context);
  if (format === 'channelsFirst' && configValue(context, 'useBias', true))
    throw unsupported(
      context,
      'dataFormat "channelsFirst" with useBias (TF.js adds the bias to the NHWC result as if it were NCHW)',
    );
  const window = convWindow(context, 2);
  const depthwise = depthwiseKernel(context, 0);
  const pointwise = permute(weightAt(context, 1), convKernelPerm(2));
  const x = toOnnxLayout(context, single(context), 4, format);
  const spread = convNode(
    context,
    x,
    depthwise,
    undefined,
    {
      ...windowAttributes(window, spatialSizes(inputShape(context), format)),
      dilations: attr.ints(window.dilations),
      group: attr.int(depthwise.groups),
    },
    'depthwise_kernel',
  );
  const y = convNode(
    context,
    spread,
    pointwise,
    biasOf(context, 2),
    { kernel_shape: attr.ints([1, 1]) },
    'pointwise_kernel',
  );
  const activated = activationOf(context, toChannelsLast(context, y, 4));
  return [format === 'channelsLast' ? activated : toChannelsFirst(context, activated, 4)];
};

/**
 * Conv2DTranspose as TF.js computes it (`conv2dTranspose` to an output of `in·s` for `same`, or
 * `in·s + max(k − s, 0)` for `valid`): ONNX ConvTranspose crops `pads` off the full result and
 * `output_padding` appends the zero rows/columns a kernel smaller than its stride leaves. TF.js
 * drops `dilationRate` from this layer (its config and computation use 1), so dilation 1 is used.
 */
const conv2dTranspose: LayerConverter = (context) => {
  const format = dataFormatOf(context);
  const padding = paddingOf(context);
  const kernelSize = intsOf(context, 'kernelSize', 2, 1);
  const strides = intsOf(context, 'strides', 2, 1);
  const begins: number[] = [];
  const ends: number[] = [];
  const outputPadding: number[] = [];
  kernelSize.forEach((kernel, axis) => {
    const stride = strides[axis] as number;
    const total = padding === 'same' ? Math.max(0, kernel - stride) : 0;
    begins.push(Math.floor(total / 2));
    ends.push(total - Math.floor(total / 2));
    outputPadding.push(Math.max(0, stride - kernel));
  });
  // TF.js: [kh, kw, filters, in]; ONNX ConvTranspose: [in, filters, kh, kw].
  const kernel = permute(weightAt(context, 0), [3, 2, 0, 1]);
  const { graph } = context;
  const weight = graph.initializer(`${context.layer.name}/kernel`, kernel.shape, kernel.data);
  const bias = biasOf(context, 1);
  const x = toOnnxLayout(context, single(context), 4, format);
  const y = graph.node(
    'ConvTranspose',
    bias ? [x, weight, bias] : [x, weight],
    {
      kernel_shape: attr.ints(kernelSize),
      strides: attr.ints(strides),
      pads: attr.ints([...begins, ...ends]),
      output_padding: attr.ints(outputPadding),
    },
    context.hint('conv_transpose'),
  );
  return [activationOf(context, fromOnnxLayout(context, y, 4, format))];
};

/**
 * Max and average pooling. TF.js pads SAME windows with nothing: max ignores the padding and the
 * average divides by the in-bounds count (`count_include_pad: 0`). Pooling1D runs on NWC only, and
 * TF.js treats `causal` padding as `valid` for pooling (output shape and values), as done here.
 */
function pooling(op: 'MaxPool' | 'AveragePool', spatialRank: 1 | 2): LayerConverter {
  return (context) => {
    const rank = spatialRank + 2;
    const format = spatialRank === 1 ? 'channelsLast' : dataFormatOf(context);
    const poolSize = intsOf(context, 'poolSize', spatialRank, 2);
    const window: Window = {
      kernel: poolSize,
      // TF.js stores the strides it uses (the pool size when none were given).
      strides: context.config.strides == null ? poolSize : intsOf(context, 'strides', spatialRank, 1),
      dilations: poolSize.map(() => 1),
      padding: paddingOf(context, true),
    };
    const attributes = windowAttributes(window, spatialSizes(inputShape(context), format));
    if (op === 'AveragePool') attributes.count_include_pad = attr.int(0);
    const x = toOnnxLayout(context, single(context), rank, format);
    const y = context.graph.node(
      op,
      [x],
      attributes,
      context.hint(op === 'MaxPool' ? 'max_pool' : 'avg_pool'),
    );
    return [fromOnnxLayout(context, y, rank, format)];
  };
}

/** Global pooling: a mean or max over every spatial axis, without keeping them. */
function globalPooling(op: 'ReduceMean' | 'ReduceMax', spatialRank: 1 | 2): LayerConverter {
  return (context) => {
    const format = spatialRank === 1 ? 'channelsLast' : dataFormatOf(context);
    const first = format === 'channelsLast' ? 1 : 2;
    const axes = Array.from({ length: spatialRank }, (_, axis) => first + axis);
    // ReduceMean/ReduceMax take `axes` as an attribute up to opset 17 (an input from 18).
    return [
      context.graph.node(
        op,
        [single(context)],
        { axes: attr.ints(axes), keepdims: attr.int(0) },
        context.hint(),
      ),
    ];
  };
}

/** A `[[before, after], [before, after]]` config (TF.js normalises ints and pairs to this form). */
function pairsOf(context: LayerContext, key: string): [[number, number], [number, number]] {
  const raw = context.config[key];
  const valid = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;
  if (
    Array.isArray(raw) &&
    raw.length === 2 &&
    raw.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(valid))
  )
    return raw as [[number, number], [number, number]];
  throw unsupported(context, `${key} ${JSON.stringify(raw)} is not [[top, bottom], [left, right]]`);
}

/** Indices of the height and width axes in the layer's layout. */
function spatialAxes(format: DataFormat): [number, number] {
  return format === 'channelsLast' ? [1, 2] : [2, 3];
}

/** ZeroPadding2D: a constant-zero Pad on the two spatial axes (pads are an int64 input from opset 11). */
const zeroPadding2d: LayerConverter = (context) => {
  const [[top, bottom], [left, right]] = pairsOf(context, 'padding');
  const [height, width] = spatialAxes(dataFormatOf(context));
  const begins = [0, 0, 0, 0];
  const ends = [0, 0, 0, 0];
  begins[height] = top;
  ends[height] = bottom;
  begins[width] = left;
  ends[width] = right;
  const pads = context.graph.int64s(context.hint('pads'), [...begins, ...ends]);
  return [
    context.graph.node('Pad', [single(context), pads], { mode: attr.string('constant') }, context.hint()),
  ];
};

/** Slice ends past any real size (Slice clamps), for an edge that is not cropped. */
const TO_THE_END = Number.MAX_SAFE_INTEGER;

/** Cropping2D: a Slice of the two spatial axes; a cropped end is negative, so any size works. */
const cropping2d: LayerConverter = (context) => {
  const [[top, bottom], [left, right]] = pairsOf(context, 'cropping');
  const axes = spatialAxes(dataFormatOf(context));
  const { graph } = context;
  const inputs = [
    single(context),
    graph.int64s(context.hint('starts'), [top, left]),
    graph.int64s(context.hint('ends'), [bottom > 0 ? -bottom : TO_THE_END, right > 0 ? -right : TO_THE_END]),
    graph.int64s(context.hint('axes'), axes),
  ];
  return [graph.node('Slice', inputs, {}, context.hint())];
};

/**
 * UpSampling2D by integer factors. TF.js calls `resizeNearestNeighbor` / `resizeBilinear` with
 * alignCorners and halfPixelCenters false: source = destination · in/out, i.e. ONNX Resize's
 * `asymmetric` transform, rounded down for nearest (`floor`) and clamped at the edge for linear.
 * (TF.js's float64 `floor(in/out · d)` equals `floor(d / factor)`, checked for sizes ≤ 300 and
 * factors ≤ 12.)
 */
const upSampling2d: LayerConverter = (context) => {
  const { graph } = context;
  const format = dataFormatOf(context);
  // TF.js indexes `size` as a pair; a single number gives NaN output sizes there.
  if (!Array.isArray(context.config.size))
    throw unsupported(
      context,
      `size ${JSON.stringify(context.config.size)} (TF.js needs [rows, cols]; a number breaks it)`,
    );
  const [height, width] = intsOf(context, 'size', 2, 2) as [number, number];
  const interpolation = configValue(context, 'interpolation', 'nearest');
  if (interpolation !== 'nearest' && interpolation !== 'bilinear')
    throw unsupported(context, `interpolation "${interpolation}"`);
  const factors = [1, 1, 1, 1];
  const [heightAxis, widthAxis] = spatialAxes(format);
  factors[heightAxis] = height;
  factors[widthAxis] = width;
  const scales = graph.floats(context.hint('scales'), factors);
  const attributes: Attributes = {
    mode: attr.string(interpolation === 'nearest' ? 'nearest' : 'linear'),
    coordinate_transformation_mode: attr.string('asymmetric'),
    ...(interpolation === 'nearest' ? { nearest_mode: attr.string('floor') } : {}),
  };
  // Resize-13: (X, roi, scales); the empty name skips the optional roi.
  return [graph.node('Resize', [single(context), '', scales], attributes, context.hint())];
};

export const CONVOLUTION_CONVERTERS: Record<string, LayerConverter> = {
  Conv1D: convolution(1),
  Conv2D: convolution(2),
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
  MaxPooling1D: pooling('MaxPool', 1),
  MaxPooling2D: pooling('MaxPool', 2),
  AveragePooling1D: pooling('AveragePool', 1),
  AveragePooling2D: pooling('AveragePool', 2),
  GlobalAveragePooling1D: globalPooling('ReduceMean', 1),
  GlobalMaxPooling1D: globalPooling('ReduceMax', 1),
  GlobalAveragePooling2D: globalPooling('ReduceMean', 2),
  GlobalMaxPooling2D: globalPooling('ReduceMax', 2),
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  UpSampling2D: upSampling2d,
};
