import { type Static, Type } from '@sinclair/typebox';

/**
 * A place on the map: [latitude, longitude] in decimal degrees (WGS 84). This is the order CAP 1.2
 * uses for its polygon and circle (CAP 1.2 3.2.4), so nothing is swapped between a site file, the
 * API and a warning's area.
 */
const Lat = Type.Number({ minimum: -90, maximum: 90, description: 'latitude, decimal degrees' });
const Lon = Type.Number({ minimum: -180, maximum: 180, description: 'longitude, decimal degrees' });
export const Position = Type.Tuple([Lat, Lon], { description: '[latitude, longitude]' });
export type Position = Static<typeof Position>;
