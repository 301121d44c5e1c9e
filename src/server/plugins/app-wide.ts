/** Marks a plugin as app-wide, which is what fastify-plugin does without the dependency. */
import type { FastifyPluginCallback, FastifyPluginOptions } from 'fastify';

/** A plugin whose hooks and handlers apply to the whole app, not only to routes it registers itself. */
export function appWide<T extends FastifyPluginOptions>(
  plugin: FastifyPluginCallback<T>,
): FastifyPluginCallback<T> {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}
