// What a page imports of Quiver, bundled by bundle.test.ts.
export * from '@quiver/core/browser';
export * from '@quiver/tfjs/browser';
